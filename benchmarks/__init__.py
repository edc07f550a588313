"""Simulated active-learning benchmarks: data loading, the AL loop, curves, savings ratios, plots.

The oracle is simulated (gold labels or an LLM labeller), so no Label Studio is needed.
``python -m benchmarks --help`` (or ``atgen-ls bench``) runs a suite.
"""
