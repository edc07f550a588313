"""Prices, the budget ledger, the answer cache, prompts, answer cleaning and the gold labeller."""
import pytest

from labellers import get_labeller, open_cache, open_ledger
from labellers.answers import clean_answer, strip_reasoning
from labellers.cache import CachedAnswer, prompt_key
from labellers.errors import LabellerConfigError, UnknownPriceError
from labellers.pricing import DEFAULT_PRICES, Price, resolve_price, usd_to_units
from labellers.prompts import PromptTemplate
from labellers.tokens import input_token_upper_bound
from training.example import Example

pytestmark = pytest.mark.unit


def test_dated_snapshots_get_their_family_price():
    assert resolve_price("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert resolve_price("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert resolve_price("claude-sonnet-4-5-20250929") == DEFAULT_PRICES["claude-sonnet-4"]
    assert resolve_price("gpt-4o", override=(9, 99)) == Price.of(9, 99)
    with pytest.raises(UnknownPriceError, match="gpt-4oo"):
        resolve_price("gpt-4oo")


def test_costs_are_exact_and_batches_cost_half():
    price = Price.of(0.15, 0.60)
    # 1000 input tokens at $0.15/M + 100 output at $0.60/M = $0.00021 = 210,000,000 pUSD
    assert price.cost_units(1000, 100) == 210_000_000
    assert price.cost_units(1000, 100, batch=True) == 105_000_000
    assert usd_to_units(0.1) == 100_000_000_000


def test_reservations_never_let_the_spend_pass_the_budget():
    ledger = open_ledger()
    first = ledger.reserve(60, budget_units=100)
    assert first is not None
    assert ledger.reserve(50, budget_units=100) is None  # 60 in flight + 50 > 100
    first.settle(30)
    assert ledger.spent_units == 30
    second = ledger.reserve(70, budget_units=100)
    assert second is not None
    second.release()
    assert ledger.spent_units == 30
    assert ledger.reserve(70, budget_units=100) is not None


def test_file_ledger_continues_the_count_after_a_restart(tmp_path):
    path = tmp_path / "project" / "spent.json"
    open_ledger(path).reserve(1_500, None).settle(1_500)
    again = open_ledger(path)
    again.reserve(500, None).settle(500)
    assert open_ledger(path).spent_units == 2_000
    assert open_ledger(path).spent == pytest.approx(2e-9)


@pytest.mark.parametrize("store", ["memory", "file"])
def test_answer_cache_round_trip(tmp_path, store):
    path = tmp_path / "cache.jsonl" if store == "file" else None
    cache = open_cache(path)
    key = prompt_key("m", {"messages": [{"role": "user", "content": "hi"}]})
    assert cache.get(key) is None
    cache.put(key, CachedAnswer("hello", "m", 3, 1, 0.5))
    reopened = open_cache(path) if path else cache
    assert reopened.get(key) == CachedAnswer("hello", "m", 3, 1, 0.5)
    cache.set_pending_batch("b", "batch_1")
    assert (open_cache(path) if path else cache).get_pending_batch("b") == "batch_1"
    cache.set_pending_batch("b", None)
    assert (open_cache(path) if path else cache).get_pending_batch("b") is None


def test_prompt_key_depends_on_model_and_prompt():
    request = {"messages": [{"role": "user", "content": "hi"}]}
    assert prompt_key("a", request) == prompt_key("a", dict(request))
    assert prompt_key("a", request) != prompt_key("b", request)
    assert prompt_key("a", request) != prompt_key("a", {"messages": [{"role": "user", "content": "ho"}]})


def test_few_shot_choice_is_stable_and_never_the_example_itself():
    template = PromptTemplate.for_task("summarization", n_shots=2)
    labeled = [Example(id=i, input=f"doc {i}", output=f"sum {i}") for i in range(10)]
    target = labeled[3]
    messages = template.messages(target, labeled)
    assert messages == template.messages(target, list(labeled))
    assert len(messages) == 6 and messages[-1] == {"role": "user", "content": "doc 3"}
    assert "doc 3" not in [m["content"] for m in messages[:-1]]
    assert PromptTemplate.for_task("qa").messages(target, labeled)[1:] == [{"role": "user", "content": "doc 3"}]
    with pytest.raises(LabellerConfigError, match="unknown task type 'poetry'"):
        PromptTemplate.for_task("poetry")


@pytest.mark.parametrize(
    "raw, answer",
    [
        ("<think>2+2 is 4</think>\n4", "4"),
        ("<THINKING>x</THINKING> Paris <reasoning>y</reasoning>", "Paris"),
        ("I should add.</think>The answer is 4", "The answer is 4"),
        ("Answer: 4 <think>but maybe", "Answer: 4"),
        ("plain", "plain"),
    ],
)
def test_reasoning_blocks_are_stripped(raw, answer):
    assert strip_reasoning(raw) == answer


def test_empty_and_missing_answers_are_errors():
    assert clean_answer("<think>only thoughts</think>  ") == ("", "empty answer")
    assert clean_answer(None)[1].startswith("malformed")
    assert clean_answer(" ok ") == ("ok", None)


def test_token_bound_covers_multibyte_text():
    messages = [{"role": "user", "content": "日本語"}]
    assert input_token_upper_bound(messages) >= len("日本語".encode())


def test_gold_labeller_returns_references_and_flags_unlabeled():
    gold = get_labeller("gold")
    result = gold.annotate([Example(1, "q", ["a", "b"]), Example(2, "q2")])
    assert result[0].text == "a" and result[0].ok and result[0].cost == 0
    assert not result[1].ok and result[1].text == ""
    assert gold.budget is None and not gold.is_out_of_budget and gold.model_version == "gold"


def test_unknown_labeller_names_the_valid_ones():
    with pytest.raises(LabellerConfigError, match="unknown labeller 'gpt'.*anthropic.*gold"):
        get_labeller("gpt")
    with pytest.raises(LabellerConfigError, match="bad parameters for labeller 'gold'"):
        get_labeller("gold", colour="red")
