import pytest

from backend.settings import ProjectSettings, ServiceSettings, SettingsError

pytestmark = pytest.mark.unit


def test_extra_params_override_environment_defaults():
    env = {"ATGEN_QUERY_SIZE": "7", "ATGEN_STRATEGY": "random"}
    settings = ProjectSettings.from_sources(env=env, extra_params='{"query_size": 3, "mode": "review"}')
    assert settings.query_size == 3
    assert settings.strategy == "random"


def test_environment_strings_are_coerced_to_field_types():
    settings = ProjectSettings.from_sources(
        env={"ATGEN_BUDGET": "2.5", "ATGEN_RETRAIN_EVERY": "4", "ATGEN_STRATEGY_PARAMS": '{"a": 1}', "ATGEN_STRATEGY": "random"},
        extra_params=None,
    )
    assert settings.budget == 2.5 and settings.retrain_every == 4 and settings.strategy_params == {"a": 1}


@pytest.mark.parametrize(
    "params, key",
    [
        ({"query_size": 0}, "query_size"),
        ({"query_size": "many"}, "query_size"),
        ({"strategy": "telepathy"}, "strategy"),
        ({"mode": "yolo"}, "mode"),
        ({"budget": -1}, "budget"),
        ({"labeller": "oracle-of-delphi"}, "labeller"),
        ({"mode": "auto", "labeller": "none"}, "mode"),
        ({"retrain_evry": 3}, "retrain_evry"),
        ({"retrain_every": 2.5}, "retrain_every"),
    ],
)
def test_invalid_settings_name_the_bad_key(params, key):
    with pytest.raises(SettingsError) as info:
        ProjectSettings.from_sources(env={"ATGEN_STRATEGY": "random", "ATGEN_ED_STRATEGY": "random"}, extra_params=params)
    assert info.value.key == key
    assert repr(key) in str(info.value)


def test_unknown_strategy_error_lists_available_ones():
    with pytest.raises(SettingsError, match="random"):
        ProjectSettings.from_dict({"strategy": "nope"})


def test_extra_params_must_be_a_json_object():
    with pytest.raises(SettingsError, match="not valid JSON"):
        ProjectSettings.from_sources(env={}, extra_params="{oops")
    with pytest.raises(SettingsError, match="JSON object"):
        ProjectSettings.from_sources(env={}, extra_params="[1, 2]")


def test_settings_round_trip_through_json():
    settings = ProjectSettings.from_dict({"strategy": "random", "ed_strategy": "random", "strategy_params": {"x": 2}})
    assert ProjectSettings.from_json(settings.to_json()) == settings


def test_service_settings_read_environment():
    service = ServiceSettings.from_env({"REDIS_URL": "redis://h:1/0", "MODEL_DIR": "/m", "BASIC_AUTH_USER": "u"})
    assert service.redis_url == "redis://h:1/0"
    assert str(service.model_dir) == "/m"
    assert service.basic_auth_user == "u" and service.basic_auth_pass is None


@pytest.mark.parametrize(
    ("env", "key"),
    [({"ENGINE": "tensorrt"}, "ENGINE"), ({"ENGINE": "openai_compatible"}, "ENGINE_URL"), ({"PRECISION": "fp16"}, "PRECISION")],
)
def test_service_engine_settings_are_checked_at_start(env, key):
    with pytest.raises(SettingsError) as error:
        ServiceSettings.from_env(env)
    assert error.value.key == key


def test_an_inference_server_url_reaches_the_engine():
    service = ServiceSettings.from_env({"ENGINE": "openai_compatible", "ENGINE_URL": "http://gpu:8000/v1"})
    assert service.engine_options == {"base_url": "http://gpu:8000/v1"}


def test_precision_reaches_the_engine_resolved_for_this_machine():
    from training.models import default_device
    from training.precision import bf16_is_native

    assert ServiceSettings.from_env({"PRECISION": "fp32"}).engine_options == {"dtype": "float32"}
    assert ServiceSettings.from_env({"ENGINE": "vllm", "PRECISION": "bf16"}).engine_options == {"dtype": "bfloat16"}
    native = "bfloat16" if bf16_is_native(default_device()) else "float32"
    assert ServiceSettings.from_env({}).engine_options == {"dtype": native}


def test_the_cli_refuses_to_start_with_a_bad_engine_setting(monkeypatch, capsys):
    from backend.cli import main

    monkeypatch.setenv("ENGINE", "openai_compatible")
    monkeypatch.delenv("ENGINE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"])
    assert exit_info.value.code == 2
    assert "ENGINE=openai_compatible needs ENGINE_URL" in capsys.readouterr().err
