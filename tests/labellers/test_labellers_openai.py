"""OpenAI and OpenAI-compatible labellers through the official SDK against a local fake server."""
import pytest
from labellers_fake_servers import FakeOpenAI

from labellers import (
    BUDGET_EXHAUSTED,
    BadCredentialsError,
    LabellerError,
    get_labeller,
    open_cache,
    open_ledger,
)
from labellers.tokens import input_token_upper_bound
from training.example import Example

pytestmark = pytest.mark.unit

PRICE = (1.0, 2.0)  # USD per 1M input / output tokens: costs are exact in picodollars
FAST = {"backoff_initial": 0.001, "backoff_max": 0.01, "poll_interval": 0.001}


@pytest.fixture
def fake(http_server):
    return FakeOpenAI(http_server)


def labeller(fake, **params):
    params = {"model": "gpt-test", "api_key": "sk-test", "base_url": fake.base_url, "price": PRICE, **FAST, **params}
    return get_labeller("openai", **params)


def examples(n, prefix="question"):
    return [Example(id=i, input=f"{prefix} {i}") for i in range(n)]


def expected_cost(input_tokens, output_tokens, discount=1.0):
    return (input_tokens * PRICE[0] + output_tokens * PRICE[1]) / 1e6 * discount


def test_answers_map_to_examples_with_tokens_and_cost(fake):
    lab = labeller(fake)
    result = lab.annotate(examples(3))
    assert [a.example_id for a in result] == [0, 1, 2]
    assert [a.text for a in result] == ["answer: question 0", "answer: question 1", "answer: question 2"]
    for a in result:
        assert a.ok and a.model == "gpt-test" and not a.from_cache
        assert a.input_tokens > 0 and a.output_tokens == 3
        assert a.cost == pytest.approx(expected_cost(a.input_tokens, a.output_tokens), rel=1e-12)
    assert lab.spent == pytest.approx(sum(a.cost for a in result), rel=1e-12)
    assert lab.model_version == "openai:gpt-test"
    assert fake.requests_seen[0]["max_completion_tokens"] == lab.max_tokens


def test_system_prompt_and_few_shot_examples_are_sent(fake):
    lab = labeller(fake, task="qa", n_shots=2)
    labeled = [Example(id=f"l{i}", input=f"known {i}", output=f"gold {i}") for i in range(3)]
    lab.annotate(examples(1), labeled=labeled)
    messages = fake.requests_seen[0]["messages"]
    assert messages[0]["role"] == "system" and "Answer the question" in messages[0]["content"]
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user", "assistant", "user"]
    assert {m["content"] for m in messages[2:5:2]} <= {f"gold {i}" for i in range(3)}
    assert messages[-1]["content"] == "question 0"


def test_reasoning_is_stripped_and_empty_answers_are_flagged_not_cached(fake):
    fake.reply = lambda prompt: "<think>long thoughts</think>Paris" if prompt.endswith("0") else "<think>cut off"
    lab = labeller(fake)
    first = lab.annotate(examples(2))
    assert first[0].text == "Paris" and first[0].ok
    assert first[1].text == "" and first[1].error == "empty answer" and first[1].cost > 0
    again = lab.annotate(examples(2))
    assert again[0].from_cache and again[0].cost == 0
    assert not again[1].from_cache  # an empty answer is asked again, not replayed
    assert fake.paid_calls == 3


def test_cache_and_ledger_survive_a_restart(fake, tmp_path):
    stores = {"ledger": open_ledger(tmp_path / "spent.json"), "cache": open_cache(tmp_path / "answers.jsonl")}
    paid = labeller(fake, **stores).annotate(examples(3))
    spent = sum(a.cost for a in paid)
    restarted = labeller(fake, ledger=open_ledger(tmp_path / "spent.json"), cache=open_cache(tmp_path / "answers.jsonl"))
    assert restarted.spent == pytest.approx(spent, rel=1e-12)
    replay = restarted.annotate(examples(4))
    assert [a.from_cache for a in replay] == [True, True, True, False]
    assert [a.text for a in replay[:3]] == [a.text for a in paid]
    assert fake.paid_calls == 4
    assert restarted.spent == pytest.approx(spent + replay[3].cost, rel=1e-12)


def test_duplicate_prompts_in_one_call_are_paid_once(fake):
    same = [Example(id="a", input="same"), Example(id="b", input="same")]
    result = labeller(fake).annotate(same)
    assert [a.text for a in result] == ["answer: same", "answer: same"]
    assert fake.paid_calls == 1 and result[1].cost == 0


def test_rate_limit_then_success_is_retried(fake):
    fake.fail_next(429)
    result = labeller(fake).annotate(examples(1))
    assert result[0].ok and fake.sync_calls == 2


def test_server_error_after_retries_is_reported_per_item_and_not_charged(fake):
    fake.fail_next(500, 500, 500)
    lab = labeller(fake, max_retries=2, concurrency=1)
    result = lab.annotate(examples(2))
    assert "HTTP 500" in result[0].error and result[0].text == "" and result[0].cost == 0
    assert result[1].ok
    assert lab.spent == pytest.approx(result[1].cost, rel=1e-12)


def test_bad_key_raises_a_clear_error(fake):
    lab = labeller(fake, api_key="sk-bad")
    with pytest.raises(BadCredentialsError, match=r"rejected the API key \(HTTP 401.*OPENAI_API_KEY"):
        lab.annotate(examples(3))
    assert lab.spent == 0


def test_requests_run_concurrently_up_to_the_limit(fake):
    fake.latency = 0.05
    result = labeller(fake, concurrency=4).annotate(examples(12))
    assert all(a.ok for a in result)
    assert 1 < fake.max_in_flight <= 4


def worst_case(lab, example, batch=False):
    bound = input_token_upper_bound(lab.template.messages(example))
    return lab.price.cost_units(bound, lab.max_tokens, batch=batch) / 1e12


def test_budget_running_out_mid_run_stops_before_the_cap(fake):
    items = examples(6)
    probe = labeller(fake)
    one_answer = probe.annotate([Example(id="probe", input="question 9")])[0].cost
    # Room for one worst case plus 2.5 real answers: the spend runs into the cap mid-run.
    budget = worst_case(probe, items[0]) + 2.5 * one_answer
    lab = labeller(fake, budget=budget, concurrency=2)
    result = lab.annotate(items)
    paid = [a for a in result if a.ok]
    assert paid and any(a.error == BUDGET_EXHAUSTED for a in result)
    assert lab.spent <= budget
    assert lab.spent == pytest.approx(sum(a.cost for a in paid), rel=1e-12)
    assert fake.paid_calls == 1 + len(paid)
    replay = lab.annotate([items[i] for i, a in enumerate(result) if a.ok])
    assert all(a.from_cache and a.cost == 0 for a in replay)  # every paid answer was kept


def test_out_of_budget_is_exact(fake):
    assert labeller(fake, budget=0).is_out_of_budget
    result = labeller(fake, budget=0).annotate(examples(1))
    assert result[0].budget_exhausted and fake.sync_calls == 0
    lab = labeller(fake, budget=1.0)
    assert not lab.is_out_of_budget and lab.budget == 1.0


def test_openai_compatible_server_without_key_is_free(http_server):
    fake = FakeOpenAI(http_server, api_key=None)
    lab = get_labeller("openai_compatible", model="Qwen/Qwen3-0.6B", base_url=fake.base_url, **FAST)
    result = lab.annotate(examples(2))
    assert all(a.ok and a.cost == 0 for a in result) and lab.spent == 0
    assert fake.requests_seen[0]["max_tokens"] == lab.max_tokens
    assert lab.model_version == "openai_compatible:Qwen/Qwen3-0.6B"


def test_unknown_model_needs_a_price(fake):
    with pytest.raises(LabellerError, match="no price known for model 'my-model'"):
        get_labeller("openai", model="my-model", api_key="k", base_url=fake.base_url)


# -- Batch API ---------------------------------------------------------------------------------


def test_batch_lands_all_rows_but_the_failed_one_at_half_price(fake):
    fake.fail_row = lambda prompt: prompt == "question 2"
    sync = labeller(fake).annotate(examples(4))
    batch_lab = labeller(fake, use_batch=True, cache=open_cache())
    result = batch_lab.annotate(examples(4))
    assert len(fake.batches) == 1
    assert [a.ok for a in result] == [True, True, False, True]
    assert "Invalid 'messages[1].content'" in result[2].error and result[2].cost == 0
    for batch_answer, sync_answer in zip(result, sync, strict=True):
        if batch_answer.ok:
            assert batch_answer.text == sync_answer.text
            assert batch_answer.cost == pytest.approx(sync_answer.cost / 2, rel=1e-12)
    assert batch_lab.spent == pytest.approx(sum(a.cost for a in result), rel=1e-12)


def test_expired_batch_keeps_finished_rows_and_reports_the_rest(fake):
    fake.expire_after = 2
    lab = labeller(fake, use_batch=True)
    result = lab.annotate(examples(4))
    assert [a.ok for a in result] == [True, True, False, False]
    assert all("batch_expired" in a.error for a in result[2:])
    assert lab.spent == pytest.approx(result[0].cost + result[1].cost, rel=1e-12)


def test_budget_running_out_mid_batch_submits_only_what_fits(fake):
    items = examples(5)
    budget = 2.5 * worst_case(labeller(fake), items[0], batch=True)
    lab = labeller(fake, use_batch=True, budget=budget)
    result = lab.annotate(items)
    assert [a.ok for a in result] == [True, True, False, False, False]
    assert all(a.budget_exhausted for a in result[2:])
    uploaded = next(iter(fake.files.values())).decode().splitlines()
    assert len(uploaded) == 2
    assert lab.spent <= budget
    assert all(a.from_cache for a in lab.annotate(items[:2]))


def test_restarted_round_resumes_its_batch_instead_of_paying_again(fake, tmp_path):
    fake.polls_until_done = 1000
    cache_path = tmp_path / "answers.jsonl"
    crashed = labeller(fake, use_batch=True, cache=open_cache(cache_path), batch_timeout=0.01, poll_interval=0.005)
    with pytest.raises(LabellerError, match="still running"):
        crashed.annotate(examples(3))
    fake.polls_until_done = 0
    resumed = labeller(fake, use_batch=True, cache=open_cache(cache_path))
    result = resumed.annotate(examples(3))
    assert all(a.ok for a in result)
    assert len(fake.batches) == 1 and fake.paid_calls == 3


def test_timeouts_are_retried_then_reported_without_charge(fake):
    fake.latency = 0.3
    lab = labeller(fake, timeout=0.05, max_retries=1)
    (result,) = lab.annotate(examples(1))
    assert not result.ok and "Timeout" in result.error
    assert fake.sync_calls == 2 and lab.spent == 0
