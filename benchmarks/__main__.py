"""``python -m benchmarks``: the simulated active-learning benchmark (same as ``atgen-ls bench``)."""
import sys

from benchmarks.cli import main

sys.exit(main())
