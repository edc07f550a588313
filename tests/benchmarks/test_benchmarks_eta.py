import pytest

from benchmarks.eta import IterationCostModel, Pace, time_left_phrase
from benchmarks.loop import ExperimentConfig
from benchmarks.stopping import StoppingCriteria
from benchmarks.store import CellState, RunStore
from benchmarks.suite import remaining_labels

pytestmark = pytest.mark.unit


def _row(labels, train, evaluate=60.0, score=0.0, per_iteration=50):
    """Iteration ``labels / per_iteration - 1`` of a cell (iteration 0 labels the initial set)."""
    return {"iteration": labels // per_iteration - 1, "labels": labels, "time_score": score, "time_label": 0.0,
            "time_train": train, "time_evaluate": evaluate}


def test_cost_grows_with_the_labels_so_late_iterations_are_priced_higher_than_a_flat_average():
    model = IterationCostModel()
    for labels in (50, 100):
        model.observe(_row(labels, train=2.0 * labels))  # 60 s evaluation + 2 s per label
    # 150..400 labels: 6 iterations of 60 s + 2 s per label.
    assert model.seconds_for([150, 200, 250, 300, 350, 400]) == pytest.approx(6 * 60 + 2 * 1650)
    flat_average = (160 + 260) / 2 * 6
    assert model.seconds_for([150, 200, 250, 300, 350, 400]) > 2 * flat_average


def test_pool_scoring_is_priced_per_query_iteration_not_read_as_a_cost_per_label():
    # A BLEUVar cell as it ran: iteration 0 trains and evaluates (no scoring), iteration 1 also
    # scores the pool for 1,100 s. One line through both read that as 23 s per label (8.5 hours
    # for the six iterations left instead of 2.4).
    model = IterationCostModel()
    model.observe(_row(50, train=55.0, evaluate=48.0))
    model.observe(_row(100, train=110.0, evaluate=48.0, score=1100.0))
    training = 6 * 48.0 + 1.1 * (150 + 200 + 250 + 300 + 350 + 400)
    assert model.seconds_for([150, 200, 250, 300, 350, 400]) == pytest.approx(training + 6 * 1100.0)


def test_a_strategy_is_priced_at_its_own_pace_once_it_has_scored_the_pool_and_is_a_lower_bound_before():
    class Cell:
        def __init__(self, strategy, rows):
            self.strategy, self.rows = strategy, rows

    # random ran two iterations; bleuvar holds only the iteration 0 every strategy of a seed copies.
    pace = Pace.of([Cell("random", [_row(50, train=50.0), _row(100, train=100.0)]), Cell("bleuvar", [_row(50, train=50.0)])])
    assert pace.is_lower_bound("bleuvar") and pace.is_lower_bound("never_ran")
    assert pace.seconds_for("bleuvar", [150]) == pytest.approx(60.0 + 150.0)  # training and evaluation alone
    pace.observe("bleuvar", _row(100, train=100.0, score=1000.0))
    assert not pace.is_lower_bound("bleuvar")
    assert pace.seconds_for("bleuvar", [150]) == pytest.approx(60.0 + 150.0 + 1000.0)
    # Its scoring does not leak into the others' pace.
    assert pace.seconds_for("random", [150]) == pytest.approx(60.0 + 150.0)
    assert pace.seconds_for("never_ran", [150]) == pytest.approx(60.0 + 150.0)


def test_earlier_iterations_stand_in_until_this_process_has_its_own_slope():
    slow_machine = [_row(50, train=500.0), _row(100, train=1000.0)]
    model = IterationCostModel(prior=slow_machine)
    assert model.seconds_for([50]) == pytest.approx(560.0)
    model.observe(_row(50, train=50.0))  # one point of its own is no slope yet: mixed with the prior
    assert 110.0 < model.seconds_for([50]) < 560.0
    model.observe(_row(100, train=100.0))
    assert model.seconds_for([50]) == pytest.approx(110.0)


def test_no_data_gives_no_estimate_and_a_noisy_flat_cost_gives_the_mean():
    assert IterationCostModel().seconds_for([50]) is None
    assert IterationCostModel(prior=[_row(50, 10.0)]).seconds_for([]) == 0.0
    noisy = IterationCostModel(prior=[_row(50, train=30.0), _row(100, train=10.0)])
    assert noisy.seconds_for([400]) == pytest.approx(80.0)


def test_durations_read_in_minutes_and_hours():
    assert [time_left_phrase(s) for s in (10, 180, 3900, 7200)] == [
        "under 1 min left", "about 3 min left", "about 1 h 05 min left", "about 2 h 00 min left"]
    assert time_left_phrase(3900, lower_bound=True) == "≥ 1 h 05 min left"


def _config(**stopping):
    return ExperimentConfig(data="x", metrics=("exact_match",), stopping=StoppingCriteria(**stopping),
                            initial_size=50, query_size=30)


def test_planned_labels_follow_the_batches_and_stop_at_the_budget():
    assert _config(max_labels=100).planned_labels() == [50, 80, 100]
    assert _config(max_labels=400, max_iterations=2).planned_labels() == [50, 80, 110]
    assert _config(money_budget=1.0).planned_labels() is None


def test_remaining_labels_skip_finished_iterations_and_a_shared_iteration_zero(tmp_path):
    store = RunStore(tmp_path)
    config = _config(max_labels=110)  # 50, 80, 110
    store.save_cell(CellState("random", 0, rows=[_row(50, 1.0)], item_scores=[[1.0]]))
    store.save_cell(CellState("nsp", 0, rows=[_row(50, 1.0), _row(80, 1.0), _row(110, 1.0)], finished=True))
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    # Seed 1's iteration 0 exists (another strategy computed it): new cells of seed 1 copy it.
    store.save_initial_point(CellState("huds", 1, rows=[_row(50, 1.0)], item_scores=[[1.0]], adapter=str(adapter)))
    left = remaining_labels(store, config, ["random", "nsp", "idds"], [0, 1, 2])
    assert left == {  # seeds 0, 1 and 2 in turn
        "random": [80, 110] + [80, 110] + [50, 80, 110],
        "nsp": [] + [80, 110] + [50, 80, 110],
        "idds": [50, 80, 110] + [80, 110] + [50, 80, 110],
    }
