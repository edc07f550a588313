import numpy as np
import pytest

from benchmarks.significance import mcnemar, paired_bootstrap

pytestmark = pytest.mark.unit


def test_mcnemar_counts_only_discordant_items():
    # 10 items only a gets right, 2 only b gets right, 20 both right: exact binomial p over 12.
    a = [1] * 10 + [0] * 2 + [1] * 20
    b = [0] * 10 + [1] * 2 + [1] * 20
    result = mcnemar(a, b)
    # P(X <= 2 | n=12, p=.5) = (1 + 12 + 66) / 4096; two-sided doubles it.
    assert result.p_value == pytest.approx(2 * 79 / 4096)
    assert result.mean_difference == pytest.approx(8 / 32)


def test_mcnemar_of_identical_systems_is_not_significant():
    assert mcnemar([1, 0, 1], [1, 0, 1]).p_value == 1.0


def test_mcnemar_refuses_non_binary_scores():
    with pytest.raises(ValueError, match="binary"):
        mcnemar([0.5, 1.0], [1.0, 0.0])


def test_paired_bootstrap_detects_a_consistent_improvement():
    rng = np.random.default_rng(1)
    b = rng.random(300)
    a = b + 0.05
    result = paired_bootstrap(a, b, n_resamples=2000)
    assert result.mean_difference == pytest.approx(0.05)
    assert result.p_value < 0.01
    assert result.ci_low == pytest.approx(0.05) and result.ci_high == pytest.approx(0.05)


def test_paired_bootstrap_does_not_flag_noise():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    result = paired_bootstrap(a, b, n_resamples=2000)
    assert result.ci_low < 0 < result.ci_high or result.p_value > 0.05
    assert result.p_value > 0.01


def test_paired_tests_need_equal_length_vectors():
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap([1, 0], [1])
