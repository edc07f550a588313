"""Word-level text helpers shared by lexical strategies (TE-delfy, HADAS)."""
from __future__ import annotations

import functools
import re

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# Function words carry no content: a generation is not "supported" by repeating them.
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those he she they we you i his her their our your my me him them "
    "not no do does did has have had will would can could should may might there here than then "
    "so such what which who whom how when where why".split()
)


@functools.lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer

    return PorterStemmer()


def words(text: str) -> list[str]:
    """Lowercased word tokens (letters, digits, underscore)."""
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem (Porter, 1980), cached: pools repeat the same words many times."""
    return _stemmer().stem(word)


def stemmed_words(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def content_words(text: str) -> list[str]:
    """Lowercased words that are not function words."""
    return [w for w in words(text) if w not in STOPWORDS]


def sentences(text: str) -> list[str]:
    """Sentences split at ., ! or ? followed by whitespace; never empty for non-blank text."""
    parts = [s.strip() for s in _SENTENCE_END.split(text.strip())]
    return [s for s in parts if s] or ([text.strip()] if text.strip() else [])
