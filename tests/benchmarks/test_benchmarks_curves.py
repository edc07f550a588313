import pytest

from benchmarks.curves import area_under_curve, labels_to_reach, mean_curve, savings_ratio

pytestmark = pytest.mark.unit

RANDOM = ([50, 100, 150, 200], [0.20, 0.30, 0.36, 0.40])


def test_labels_to_reach_interpolates_between_measured_points():
    # 0.35 lies 5/6 of the way from 0.30 (100 labels) to 0.36 (150 labels).
    assert labels_to_reach(*RANDOM, 0.35) == pytest.approx(100 + 50 * 5 / 6)


def test_labels_to_reach_is_the_first_point_when_already_above_target():
    assert labels_to_reach(*RANDOM, 0.10) == 50


def test_labels_to_reach_reports_not_reached_as_none():
    assert labels_to_reach(*RANDOM, 0.41) is None


def test_savings_ratio_of_a_strategy_that_reaches_random_final_quality_with_half_the_labels():
    strategy = ([50, 100, 150, 200], [0.30, 0.40, 0.42, 0.43])
    assert savings_ratio(*RANDOM, *strategy) == pytest.approx(200 / 100)


def test_savings_ratio_interpolates_the_strategy_curve():
    strategy = ([50, 100, 150, 200], [0.30, 0.38, 0.42, 0.43])
    # 0.40 is reached halfway between 100 (0.38) and 150 (0.42): 125 labels.
    assert savings_ratio(*RANDOM, *strategy) == pytest.approx(200 / 125)


def test_savings_ratio_is_none_when_the_strategy_never_reaches_random_final_quality():
    worse = ([50, 100, 150, 200], [0.18, 0.28, 0.33, 0.39])
    assert savings_ratio(*RANDOM, *worse) is None


def test_random_against_itself_saves_nothing():
    assert savings_ratio(*RANDOM, *RANDOM) == pytest.approx(1.0)


def test_non_monotonic_random_curve_uses_its_first_crossing_of_its_final_quality():
    bumpy = ([50, 100, 150], [0.2, 0.5, 0.4])
    # Random already had 0.4 between 50 and 100 labels: 50 + 50 * (0.2 / 0.3).
    assert labels_to_reach(*bumpy, 0.4) == pytest.approx(50 + 50 * 2 / 3)


def test_area_under_curve_normalised_is_average_quality_over_the_label_range():
    # Trapezoids: 50*(0.2+0.3)/2 + 50*(0.3+0.36)/2 + 50*(0.36+0.4)/2 = 12.5 + 16.5 + 19 = 48
    assert area_under_curve(*RANDOM, normalize=False) == pytest.approx(48.0)
    assert area_under_curve(*RANDOM) == pytest.approx(48.0 / 150)


def test_area_under_a_single_point_is_its_value():
    assert area_under_curve([50], [0.3]) == pytest.approx(0.3)


def test_curves_with_unsorted_or_mismatched_points_are_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        labels_to_reach([100, 50], [0.1, 0.2], 0.15)
    with pytest.raises(ValueError, match="2 label counts but 1 values"):
        area_under_curve([50, 100], [0.1])


def test_mean_curve_averages_seeds_per_label_count_with_sample_std():
    curve = mean_curve([(50, 0.2), (100, 0.4), (50, 0.4), (100, 0.4)])
    assert curve.labels == (50, 100)
    assert curve.mean == pytest.approx((0.3, 0.4))
    assert curve.std == pytest.approx((0.1414213562, 0.0))
    assert curve.n == (2, 2)
