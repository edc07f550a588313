import json

import pytest

from training.adapters import AdapterRegistry
from training.example import Example
from training.lora import TrainConfig, train_adapter

pytestmark = pytest.mark.unit


def publish(registry, version, payload="weights"):
    with registry.writing(version, info={"metrics": {"rougeL": 0.5}}) as folder:
        (folder / "adapter_model.safetensors").write_text(payload)
    return registry.get(version)


def test_trained_adapter_is_published_self_describing(tiny_model_path, tmp_path):
    registry = AdapterRegistry(tmp_path / "project-1")
    assert registry.current() is None and registry.versions() == []
    examples = [Example(id=i, input=f"say {w}", output=w) for i, w in enumerate(["a", "b", "c", "d", "e"])]
    with registry.writing("r1", info={"metrics": {"rougeL": 0.31}}) as folder:
        train_adapter(tiny_model_path, examples, folder, config=TrainConfig(epochs=1, r=4, eval_fraction=0.2))
    current = registry.current()
    assert current.version == "r1" and current.path == tmp_path / "project-1" / "r1"
    info = json.loads((current.path / "adapter_info.json").read_text())
    assert info == current.info
    assert info["base_model"] == tiny_model_path
    assert info["peft_config"]["r"] == 4 and info["peft_config"]["peft_type"] == "LORA"
    assert (info["n_train"], info["n_eval"]) == (4, 1)
    assert info["metrics"]["rougeL"] == 0.31 and info["metrics"]["eval_loss"] > 0
    assert info["started_at"] <= info["created_at"]
    assert [p.name for p in (tmp_path / "project-1").iterdir() if p.name.startswith(".")] == []


def test_exception_mid_save_leaves_no_trace(tmp_path):
    registry = AdapterRegistry(tmp_path)
    publish(registry, "v1")
    with pytest.raises(RuntimeError, match="disk full"):
        with registry.writing("v2") as folder:
            (folder / "adapter_model.safetensors").write_text("half")
            raise RuntimeError("disk full")
    assert [v.version for v in registry.versions()] == ["v1"]
    assert registry.current().version == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", "v1"]


def test_rollback_keep_last_and_name_checks(tmp_path):
    registry = AdapterRegistry(tmp_path)
    for version in ("v1", "v2", "v3", "v4"):
        publish(registry, version, payload=version)
    assert [v.version for v in registry.versions()] == ["v1", "v2", "v3", "v4"]
    assert registry.rollback("v2").version == "v2"
    assert registry.current().version == "v2"
    assert AdapterRegistry(tmp_path).current().version == "v2"  # survives a restart
    assert registry.keep_last(1) == ["v1", "v3"]  # the current version is never deleted
    assert [v.version for v in registry.versions()] == ["v2", "v4"]
    with pytest.raises(KeyError, match="no adapter version 'v1'"):
        registry.rollback("v1")
    with pytest.raises(FileExistsError):
        publish(registry, "v4")
    with pytest.raises(ValueError, match="invalid adapter version name"):
        publish(registry, "../escape")
    publish(registry, "v5")
    assert registry.current().version == "v5"
