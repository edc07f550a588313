"""Metrics against values computed by hand (the arithmetic is in the comments)."""
import math

import numpy as np
import pytest

from training import metrics
from training.metrics import compute, greedy_match_f1, main_metric, per_example

pytestmark = pytest.mark.unit


def test_exact_and_relaxed_exact_match():
    preds = ["The Cat!", "Paris", "a dog"]
    refs = ["cat", ["City of Paris", "paris"], "the cat"]
    assert per_example("exact_match", preds, refs) == [1.0, 0.0, 0.0]  # first reference only
    assert per_example("relaxed_exact_match", preds, refs) == [1.0, 1.0, 0.0]
    assert compute("relaxed_exact_match", preds, refs) == pytest.approx(2 / 3)


def test_token_f1():
    # pred tokens {cat, sat, on, mat} vs ref {cat, on, mat}: P = 3/4, R = 1, F1 = 6/7
    assert compute("token_f1", ["the cat sat on mat"], ["cat on the mat"]) == pytest.approx(6 / 7)
    # best reference counts
    assert compute("token_f1", ["cat"], [["dog", "cat"]]) == 1.0
    assert compute("token_f1", ["cat"], ["dog"]) == 0.0


def test_rouge():
    # unigrams 2/3 shared; bigrams {the cat} of 2; LCS "the cat" = 2 of 3
    assert compute("rouge1", ["the cat sat"], ["the cat ran"]) == pytest.approx(2 / 3)
    assert compute("rouge2", ["the cat sat"], ["the cat ran"]) == pytest.approx(1 / 2)
    assert compute("rougeL", ["the cat sat"], ["the cat ran"]) == pytest.approx(2 / 3)
    assert compute("rouge2", ["the cat sat"], [["dogs bark", "the cat sat"]]) == pytest.approx(1.0)


def test_bleu_corpus_and_multi_reference():
    # 1-4 gram precisions 5/6, 3/5, 2/4, 1/3 and no brevity penalty: (1/12) ** (1/4)
    assert compute("bleu", ["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx((1 / 12) ** 0.25, abs=1e-6)
    assert compute("bleu", ["the cat sat on a mat"], [["a dog", "the cat sat on a mat"]]) == pytest.approx(1.0)
    assert per_example("bleu", ["the cat sat on a mat", "x y z w"], ["the cat sat on a mat", "a b c d"]) == [
        pytest.approx(1.0),
        0.0,
    ]


def test_chrf():
    # char n-grams of "abc" vs "abd": n=1 P=R=2/3, n=2 P=R=1/2, n=3 P=R=0 -> (2/3 + 1/2 + 0) / 3
    assert compute("chrf", ["abc"], ["abd"]) == pytest.approx(7 / 18, abs=1e-6)
    assert compute("chrf", ["guten Morgen"], ["guten Morgen"]) == pytest.approx(1.0)


def test_greedy_match_f1_by_hand():
    # candidate tokens e1, e2; reference token e1: precision (1 + 0)/2, recall 1 -> F1 2/3
    assert greedy_match_f1(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[3.0, 0.0]])) == pytest.approx(2 / 3)
    # cosines 0.6 both ways -> 0.6
    assert greedy_match_f1(np.array([[1.0, 0.0]]), np.array([[0.6, 0.8]])) == pytest.approx(0.6)


def test_embedding_similarity_ranks_paraphrases_above_unrelated_text():
    scores = per_example(
        "embedding_similarity",
        ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell sharply."],
        ["A cat sits on the mat."] * 3,
    )
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1] > scores[2] + 0.1


def test_llm_judge_hook():
    judge = lambda prediction, references: float(references[0].lower() in prediction.lower())  # noqa: E731
    assert compute("llm_judge", ["It is Paris.", "Lyon"], ["Paris", ["paris"]], judge=judge) == 0.5
    with pytest.raises(ValueError, match="llm_judge needs judge="):
        compute("llm_judge", ["a"], ["a"])
    with pytest.raises(ValueError, match="outside"):
        compute("llm_judge", ["a"], ["a"], judge=lambda p, r: 7)


def test_registry_and_errors():
    assert metrics.available() == sorted(
        ["exact_match", "relaxed_exact_match", "token_f1", "rouge1", "rouge2", "rougeL", "bleu", "chrf",
         "embedding_similarity", "llm_judge"]
    )
    assert [main_metric(t) for t in ("qa", "summarization", "summarisation", "translation", "math", "generation")] == [
        "relaxed_exact_match", "rouge2", "rouge2", "chrf", "exact_match", "rougeL"
    ]
    with pytest.raises(ValueError, match="unknown task type 'poetry'"):
        main_metric("poetry")
    with pytest.raises(ValueError, match="unknown metric 'meteor'"):
        compute("meteor", ["a"], ["a"])
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        compute("exact_match", ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no predictions"):
        compute("rouge1", [], [])
    assert all(math.isfinite(compute(name, ["x"], ["x"])) for name in metrics.available() if name != "llm_judge")
