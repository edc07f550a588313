"""BIG-bench task loading from the sdist: extraction, caching, clear errors, and a download that
never leaves half a tarball behind. A small hand-made tarball stands in for the 358 MB sdist."""
import io
import json
import sys
import tarfile
import textwrap

import pytest

from benchmarks import bigbench_tasks
from benchmarks.bigbench_tasks import TaskNotFoundError, load_task, sdist_path
from benchmarks.datasets import DataSpecError, load_examples

pytestmark = pytest.mark.unit

TASKS = {
    "toy_qa": {"examples": [
        {"input": "Capital of France?", "target": "Paris"},
        {"input": "2 + 2?", "target": ["4", "four"]},
        {"input": "no answer here"},
    ]},
    "toy_choice": {"examples": [{"input": "Pick one", "target_scores": {"a": 1, "b": 0}}]},
}


def _write_sdist(path):
    with tarfile.open(path, "w:gz") as tar:
        for name, task in TASKS.items():
            data = json.dumps(task).encode()
            member = tarfile.TarInfo(f"bigbench-1.0.0/bigbench/benchmark_tasks/{name}/task.json")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATGEN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def sdist(cache):
    (cache / "downloads").mkdir(parents=True)
    path = cache / "downloads" / "bigbench-1.0.0.tar.gz"
    _write_sdist(path)
    return path


def _fake_pip(tmp_path, name, body):
    """A stand-in for ``pip`` that runs ``body`` with ``dest`` set to the ``-d`` folder."""
    script = tmp_path / f"{name}.py"
    script.write_text("import sys\nfrom pathlib import Path\ndest = Path(sys.argv[sys.argv.index('-d') + 1])\n" + body)
    return [sys.executable, str(script)]


def test_a_task_is_extracted_once_and_read_from_the_cache_afterwards(sdist, cache):
    assert load_task("toy_qa") == TASKS["toy_qa"]
    sdist.unlink()  # the tarball is no longer needed for a cached task
    assert load_task("toy_qa") == TASKS["toy_qa"]
    assert sorted(p.name for p in (cache / "bigbench" / "toy_qa").iterdir()) == ["task.json"]


def test_bigbench_spec_gives_stable_ids_and_keeps_every_reference(sdist):
    examples = load_examples("bigbench:toy_qa")
    assert [(e.id, e.input, e.output) for e in examples] == [
        ("toy_qa:0", "Capital of France?", "Paris"),
        ("toy_qa:1", "2 + 2?", ["4", "four"]),
    ]


def test_unknown_and_multiple_choice_tasks_are_explained(sdist):
    with pytest.raises(TaskNotFoundError, match=r"'no_such_task' not found.*qa_wikidata, disfl_qa"):
        load_task("no_such_task")
    with pytest.raises(DataSpecError, match=r"bigbench:toy_choice has no generative examples"):
        load_examples("bigbench:toy_choice")


def test_a_failed_download_leaves_no_partial_tarball_and_the_next_pip_is_tried(tmp_path, cache, monkeypatch):
    good = tmp_path / "good.tar.gz"
    _write_sdist(good)
    # The first pip dies midway (as a refused or killed download does) after writing half a file.
    dies_midway = _fake_pip(tmp_path, "dies", textwrap.dedent("""
        (dest / "bigbench-1.0.0.tar.gz").write_bytes(b"half a tarball")
        sys.exit("connection reset")
    """))
    works = _fake_pip(tmp_path, "works", f"import shutil\nshutil.copy({str(good)!r}, dest / 'bigbench-1.0.0.tar.gz')\n")
    monkeypatch.setattr(bigbench_tasks, "_pip_commands", lambda: [dies_midway, works])

    path = sdist_path()
    assert path.read_bytes() == good.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["bigbench-1.0.0.tar.gz"]  # no private folders left
    assert load_task("toy_qa") == TASKS["toy_qa"]


def test_when_every_pip_fails_the_error_names_each_attempt_and_nothing_is_cached(tmp_path, cache, monkeypatch):
    dies_midway = _fake_pip(tmp_path, "dies", textwrap.dedent("""
        (dest / "bigbench-1.0.0.tar.gz").write_bytes(b"half a tarball")
        sys.exit("direct URL dependency refused")
    """))
    monkeypatch.setattr(bigbench_tasks, "_pip_commands", lambda: [dies_midway, dies_midway])

    with pytest.raises(RuntimeError, match=r"tried: .*dies.py \(exit 1\): direct URL dependency refused \| .*dies.py"):
        sdist_path()
    # A rerun must download again rather than trust a half-written file.
    assert list((cache / "downloads").iterdir()) == []
