"""The Anthropic labeller through the official SDK against a local server speaking the Messages API."""
import pytest
from labellers_fake_servers import FakeAnthropic

from labellers import BadCredentialsError, get_labeller, open_cache
from labellers.tokens import input_token_upper_bound
from training.example import Example

pytestmark = pytest.mark.unit

PRICE = (3.0, 15.0)
FAST = {"backoff_initial": 0.001, "backoff_max": 0.01, "poll_interval": 0.001}


@pytest.fixture
def fake(http_server):
    return FakeAnthropic(http_server)


def labeller(fake, **params):
    params = {"model": "claude-test", "api_key": "sk-ant-test", "base_url": fake.base_url, "price": PRICE,
              **FAST, **params}
    return get_labeller("anthropic", **params)


def examples(n):
    return [Example(id=f"t{i}", input=f"text {i}") for i in range(n)]


def test_messages_answers_with_usage_and_system_prompt(fake):
    lab = labeller(fake, task="summarization")
    result = lab.annotate(examples(2))
    assert [a.text for a in result] == ["answer: text 0", "answer: text 1"]
    for a in result:
        assert a.cost == pytest.approx((a.input_tokens * 3 + a.output_tokens * 15) / 1e6, rel=1e-12)
        # usage counts the system prompt the labeller sent as Anthropic's top-level field
        assert a.input_tokens > len("text 0".split())
    assert lab.spent == pytest.approx(sum(a.cost for a in result), rel=1e-12)
    assert lab.model_version == "anthropic:claude-test"


def test_default_price_applies_to_claude_models(fake):
    lab = get_labeller("anthropic", model="claude-haiku-4-5-20251001", api_key="sk-ant-test", base_url=fake.base_url)
    (answer,) = lab.annotate(examples(1))
    assert answer.cost == pytest.approx((answer.input_tokens * 1 + answer.output_tokens * 5) / 1e6, rel=1e-12)


def test_overloaded_then_success_is_retried_and_500s_are_reported(fake):
    fake.fail_next(429, 529)
    assert labeller(fake).annotate(examples(1))[0].ok and fake.sync_calls == 3
    fake.fail_next(500, 500)
    failed = labeller(fake, max_retries=1).annotate([Example("x", "other")])[0]
    assert "HTTP 500" in failed.error and failed.cost == 0


def test_bad_key_names_the_problem(fake):
    with pytest.raises(BadCredentialsError, match="Anthropic rejected the API key.*ANTHROPIC_API_KEY"):
        labeller(fake, api_key="sk-ant-wrong").annotate(examples(2))


def test_missing_key_is_a_config_error(fake, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ValueError, match="needs an API key.*ANTHROPIC_API_KEY"):
        get_labeller("anthropic", model="claude-test", price=PRICE)


def test_message_batch_with_a_failed_row_and_half_price(fake):
    fake.fail_row = lambda prompt: prompt == "text 1"
    sync = labeller(fake).annotate(examples(3))
    lab = labeller(fake, use_batch=True, cache=open_cache())
    result = lab.annotate(examples(3))
    assert [a.ok for a in result] == [True, False, True]
    assert "invalid_request_error" in result[1].error
    assert result[0].text == sync[0].text
    assert result[0].cost == pytest.approx(sync[0].cost / 2, rel=1e-12)
    assert lab.spent == pytest.approx(result[0].cost + result[2].cost, rel=1e-12)


def test_expired_rows_are_reported_and_not_charged(fake):
    fake.expire_after = 1
    lab = labeller(fake, use_batch=True)
    result = lab.annotate(examples(3))
    assert [a.ok for a in result] == [True, False, False]
    assert all("expired" in a.error for a in result[1:])
    assert lab.spent == pytest.approx(result[0].cost, rel=1e-12)


def test_budget_running_out_mid_batch(fake):
    probe = labeller(fake)
    worst = probe.price.cost_units(input_token_upper_bound(probe.template.messages(examples(1)[0])),
                                   probe.max_tokens, batch=True) / 1e12
    budget = 1.5 * worst
    lab = labeller(fake, use_batch=True, budget=budget)
    result = lab.annotate(examples(3))
    assert [a.ok for a in result] == [True, False, False]
    assert all(a.budget_exhausted for a in result[1:])
    assert len(next(iter(fake.batches.values()))["requests"]) == 1
    assert lab.spent <= budget and fake.paid_calls == 1
