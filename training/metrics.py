"""NLG metrics by name; every score is in [0, 1] and higher is better.

``references[i]`` is one reference string or a list of acceptable references for
``predictions[i]``; where a metric is per example, the best reference counts.

- exact_match: SQuAD normalisation (Rajpurkar et al. 2016, EMNLP: lowercase, drop punctuation,
  articles and extra spaces) against the first reference.
- relaxed_exact_match: the same, against any reference.
- token_f1: SQuAD bag-of-tokens F1, best reference.
- rouge1 / rouge2 / rougeL: Lin 2004 (ACL workshop) F-measure via ``rouge-score`` with Porter
  stemming, best reference.
- bleu: Papineni et al. 2002 (ACL), corpus-level via ``sacrebleu`` (Post 2018, WMT), / 100.
- chrf: Popović 2015 (WMT) character n-gram F-score (beta 2) via ``sacrebleu``, corpus-level, / 100.
- embedding_similarity: BERTScore-style F1 (Zhang et al. 2020, ICLR) with the token embeddings of
  the embedding model (all-MiniLM-L6-v2 by default): each token is matched to its most similar
  token on the other side, precision and recall average those cosines.
- llm_judge: the mean of ``judge(prediction, references) -> float`` for a callable passed in
  (the ``labellers`` package provides LLM judges).
"""
from __future__ import annotations

import collections
import re
import string
from collections.abc import Callable, Sequence

import numpy as np

References = Sequence["str | Sequence[str]"]
Judge = Callable[[str, list[str]], float]

MAIN_METRICS = {
    "qa": "relaxed_exact_match",
    "summarization": "rouge2",
    "translation": "chrf",
    "math": "exact_match",
    "generation": "rougeL",
}


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _as_list(reference) -> list[str]:
    refs = [reference] if isinstance(reference, str) else list(reference)
    if not refs:
        raise ValueError("an example has an empty list of references")
    return refs


def _checked(predictions: Sequence[str], references: References) -> tuple[list[str], list[list[str]]]:
    predictions = list(predictions)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("no predictions to score")
    return predictions, [_as_list(r) for r in references]


def token_f1_score(prediction: str, reference: str) -> float:
    pred_tokens, ref_tokens = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred_tokens or not ref_tokens:
        return float(pred_tokens == ref_tokens)
    common = sum((collections.Counter(pred_tokens) & collections.Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def greedy_match_f1(candidate: np.ndarray, reference: np.ndarray) -> float:
    """BERTScore F1 of two token-embedding matrices ``(tokens, dim)`` (rows need not be unit)."""
    if len(candidate) == 0 or len(reference) == 0:
        return float(len(candidate) == len(reference))
    cand = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    ref = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    similarity = cand @ ref.T
    precision, recall = similarity.max(axis=1).mean(), similarity.max(axis=0).mean()
    if precision + recall <= 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def _exact_match(predictions, references) -> list[float]:
    return [float(normalize_answer(p) == normalize_answer(refs[0])) for p, refs in zip(predictions, references, strict=True)]


def _relaxed_exact_match(predictions, references) -> list[float]:
    return [
        float(any(normalize_answer(p) == normalize_answer(r) for r in refs))
        for p, refs in zip(predictions, references, strict=True)
    ]


def _token_f1(predictions, references) -> list[float]:
    return [max(token_f1_score(p, r) for r in refs) for p, refs in zip(predictions, references, strict=True)]


def _rouge(kind: str):
    def score(predictions, references) -> list[float]:
        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer([kind], use_stemmer=True)
        return [
            max(scorer.score(r, p)[kind].fmeasure for r in refs) for p, refs in zip(predictions, references, strict=True)
        ]

    return score


def _reference_streams(references: list[list[str]]) -> list[list[str]]:
    # sacrebleu wants equally many references per segment; repeating one changes neither
    # n-gram clipping nor the closest reference length.
    width = max(len(refs) for refs in references)
    return [[refs[k] if k < len(refs) else refs[0] for refs in references] for k in range(width)]


def _bleu_corpus(predictions, references) -> float:
    import sacrebleu

    return sacrebleu.corpus_bleu(predictions, _reference_streams(references)).score / 100


def _chrf_corpus(predictions, references) -> float:
    import sacrebleu

    return sacrebleu.corpus_chrf(predictions, _reference_streams(references)).score / 100


def _bleu_sentences(predictions, references) -> list[float]:
    import sacrebleu

    return [sacrebleu.sentence_bleu(p, refs).score / 100 for p, refs in zip(predictions, references, strict=True)]


def _chrf_sentences(predictions, references) -> list[float]:
    import sacrebleu

    return [sacrebleu.sentence_chrf(p, refs).score / 100 for p, refs in zip(predictions, references, strict=True)]


def _embedding_similarity(predictions, references, *, embedder=None) -> list[float]:
    if embedder is None:
        from training.embeddings import get_embedder

        embedder = get_embedder()
    texts = list(dict.fromkeys([*predictions, *(r for refs in references for r in refs)]))
    tokens = dict(zip(texts, embedder.token_embeddings(texts), strict=True))
    return [
        max(greedy_match_f1(tokens[p], tokens[r]) for r in refs) for p, refs in zip(predictions, references, strict=True)
    ]


def _llm_judge(predictions, references, *, judge: Judge | None = None) -> list[float]:
    if judge is None:
        raise ValueError("llm_judge needs judge=callable(prediction, references) -> float in [0, 1]")
    scores = [float(judge(p, refs)) for p, refs in zip(predictions, references, strict=True)]
    if any(not 0.0 <= s <= 1.0 for s in scores):
        raise ValueError("the judge returned a score outside [0, 1]")
    return scores


_PER_EXAMPLE = {
    "exact_match": _exact_match,
    "relaxed_exact_match": _relaxed_exact_match,
    "token_f1": _token_f1,
    "rouge1": _rouge("rouge1"),
    "rouge2": _rouge("rouge2"),
    "rougeL": _rouge("rougeL"),
    "bleu": _bleu_sentences,
    "chrf": _chrf_sentences,
    "embedding_similarity": _embedding_similarity,
    "llm_judge": _llm_judge,
}
# BLEU and chrF are defined on the corpus (pooled n-gram counts), not as a mean of sentences.
_CORPUS = {"bleu": _bleu_corpus, "chrf": _chrf_corpus}


def available() -> list[str]:
    """Every metric name ``compute`` accepts."""
    return sorted(_PER_EXAMPLE)


def _metric(name: str):
    if name not in _PER_EXAMPLE:
        raise ValueError(f"unknown metric {name!r}; available: {available()}")
    return _PER_EXAMPLE[name]


def per_example(name: str, predictions: Sequence[str], references: References, **options) -> list[float]:
    """One score per prediction (sentence-level BLEU/chrF for those two)."""
    metric = _metric(name)
    return metric(*_checked(predictions, references), **options)


def compute(name: str, predictions: Sequence[str], references: References, **options) -> float:
    """The corpus score of metric ``name``: corpus BLEU/chrF, else the mean over examples.

    ``options``: ``judge=`` for ``llm_judge``; ``embedder=`` for ``embedding_similarity``.
    """
    metric = _metric(name)
    predictions, refs = _checked(predictions, references)
    if name in _CORPUS:
        return float(_CORPUS[name](predictions, refs))
    return float(np.mean(metric(predictions, refs, **options)))


def main_metric(task_type: str) -> str:
    """The metric that decides a round for a template: QA relaxed EM, summarisation ROUGE-2,
    translation chrF, math exact match, free generation ROUGE-L."""
    key = {"summarisation": "summarization"}.get(task_type, task_type)
    if key not in MAIN_METRICS:
        raise ValueError(f"unknown task type {task_type!r}; known: {sorted(MAIN_METRICS)}")
    return MAIN_METRICS[key]
