"""Auto-mode stopping criterion and mode parsing."""
import pytest

from labellers import BUDGET_EXHAUSTED, Annotation, LabellerConfigError
from labellers.modes import (
    AutoProgress,
    Mode,
    StoppingCriterion,
    labels_this_round,
    llm_annotation_meta,
    round_was_budget_blocked,
    stop_reason,
)

pytestmark = pytest.mark.unit


def test_mode_parsing_names_valid_modes():
    assert Mode.parse("review") is Mode.REVIEW and Mode.parse(Mode.AUTO) is Mode.AUTO
    with pytest.raises(LabellerConfigError, match="unknown labelling mode 'manual'; valid: review, auto"):
        Mode.parse("manual")


def test_no_limit_never_stops():
    assert stop_reason(StoppingCriterion(), AutoProgress(labels=10_000, spent=99.0, metric=1.0)) is None


def test_label_limit_stops_and_caps_the_round():
    criterion = StoppingCriterion(max_labels=50)
    assert stop_reason(criterion, AutoProgress(labels=49, spent=0)) is None
    assert labels_this_round(criterion, AutoProgress(labels=45, spent=0), batch_size=20) == 5
    assert "label limit reached (50 of 50)" == stop_reason(criterion, AutoProgress(labels=50, spent=0))
    assert labels_this_round(criterion, AutoProgress(labels=60, spent=0), batch_size=20) == 0
    assert labels_this_round(StoppingCriterion(), AutoProgress(labels=60, spent=0), batch_size=20) == 20


def test_budget_stops_when_spent_or_when_nothing_more_fits():
    criterion = StoppingCriterion(budget=1.0)
    assert stop_reason(criterion, AutoProgress(labels=3, spent=0.99)) is None
    assert stop_reason(criterion, AutoProgress(labels=3, spent=1.0)).startswith("budget spent")
    assert stop_reason(StoppingCriterion(), AutoProgress(labels=3, spent=0.5, out_of_budget=True))
    assert stop_reason(StoppingCriterion(), AutoProgress(labels=3, spent=0.99, budget_blocked=True))


def test_budget_blocked_round_detection():
    refused = Annotation(1, "", "m", error=BUDGET_EXHAUSTED)
    answered = Annotation(2, "x", "m", cost=0.1)
    assert round_was_budget_blocked([refused, refused])
    assert not round_was_budget_blocked([refused, answered])
    assert not round_was_budget_blocked([])


@pytest.mark.parametrize("higher, metric, stops", [(True, 0.81, True), (True, 0.79, False),
                                                    (False, 0.79, True), (False, 0.81, False)])
def test_target_metric(higher, metric, stops):
    criterion = StoppingCriterion(target_metric=0.8, higher_is_better=higher)
    assert (stop_reason(criterion, AutoProgress(labels=1, spent=0, metric=metric)) is not None) is stops
    assert stop_reason(criterion, AutoProgress(labels=1, spent=0, metric=None)) is None


def test_negative_limits_are_rejected():
    with pytest.raises(LabellerConfigError, match="max_labels"):
        StoppingCriterion(max_labels=-1)


def test_llm_made_meta():
    meta = llm_annotation_meta(Annotation(1, "x", "gpt", 10, 2, 0.001), "openai:gpt")
    assert meta["llm_made"] is True and meta["labeller"] == "openai:gpt" and meta["cost_usd"] == 0.001
