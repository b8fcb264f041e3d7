"""Word n-gram hashes for a whole corpus at once (dedupe and decontamination share them).

Words are the problem's words, not its spacing: s1 lowercases and splits on whitespace, so
`$x\\neq 1$ , and` and `$x\\neq 1,$ and` share no word and a copy hides behind its LaTeX
spacing. Here, as in s1, a formula is one word, but written canonically: spacing, braces, LaTeX
spacing and sizing commands (`\\,`, `\\left`, ...) and trailing punctuation removed, synonyms
unified (`\\dfrac`/`\\frac`, `\\le`/`\\leq`). Prose words are lowercased runs of letters and
digits (punctuation is not part of a word), thousands separators are dropped, and Asymptote
figure code is left out (its tokens are shared by every figure). Words map to integer ids through
one vocabulary, and the n-gram hashes of every document are computed with a few vectorised numpy
passes over the concatenated word ids, so 59K questions take about a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

# Odd 64-bit multipliers; the polynomial hash is finished with splitmix64's mixer.
HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
# Pads documents shorter than n words so each yields exactly one n-gram: the whole text.
_PAD = np.uint64(0xFFFFFFFFFFFFFFFF)


# LaTeX that changes spacing or size, never the problem.
_LAYOUT = re.compile(
    r"\\(?:left|right|[bB]igg?[lr]?|displaystyle|textstyle|quad|qquad|[,;:! ]|mathrm|text|textbf|"
    r"textit|mbox|operatorname)(?![a-zA-Z])|~")
_SYNONYMS = {"dfrac": "frac", "tfrac": "frac", "le": "leq", "ge": "geq", "ne": "neq",
             "leqslant": "leq", "geqslant": "geq"}
_SYNONYM = re.compile(r"\\(" + "|".join(sorted(_SYNONYMS, key=len, reverse=True)) + r")(?![a-zA-Z])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Figure code (Asymptote) draws the problem; its tokens are shared by every figure.
_FIGURE = re.compile(r"\[asy\].*?(?:\[/asy\]|$)", re.DOTALL | re.IGNORECASE)
# $...$, $$...$$, \[...\], \(...\); an escaped \$ is a dollar sign, not math.
_MATH = re.compile(r"(?<!\\)\$\$?(.+?)(?<!\\)\$\$?|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.DOTALL)
_MATH_SPACE = re.compile(r"\s+|[{}]")
_PROSE_WORD = re.compile(r"[^\W_]+(?:\.\d+)?")


def _math_word(body: str) -> str:
    """One formula as one word: layout, braces and spacing removed, synonyms unified."""
    body = _SYNONYM.sub(lambda m: "\\" + _SYNONYMS[m.group(1)], _LAYOUT.sub("", body))
    return _MATH_SPACE.sub("", body).rstrip(",.;:").lower()


def words(text: str) -> list[str]:
    """The normalised words of a text: prose words, and each formula as one word."""
    text = _THOUSANDS.sub("", _FIGURE.sub(" ", text))
    result: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        result += _PROSE_WORD.findall(text[position : match.start()].lower())
        formula = _math_word(match.group(1) or match.group(2) or match.group(3))
        if formula:
            result.append(formula)
        position = match.end()
    result += _PROSE_WORD.findall(text[position:].lower())
    return result


def whitespace_words(text: str) -> list[str]:
    """s1's own words: lowercased, split on whitespace (kept to measure against and reproduce s1)."""
    return text.lower().split()


def normalize(text: str) -> str:
    """The text as its normalised words, space separated: equal for the same problem."""
    return " ".join(words(text))


@dataclass(frozen=True)
class NgramHashes:
    """All n-grams of a corpus: hash, owning document, start position within the document."""

    hashes: np.ndarray  # uint64
    doc: np.ndarray  # int64, index of the owning document
    position: np.ndarray  # int64, index of the first word of the n-gram
    num_docs: int

    def counts(self) -> np.ndarray:
        """Number of n-grams per document."""
        return np.bincount(self.doc, minlength=self.num_docs)


class Vocabulary:
    """Word -> id, shared by every corpus that is compared (eval sets and pool)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def encode(self, words: list[str]) -> list[int]:
        ids = self._ids
        return [ids.setdefault(word, len(ids)) for word in words]


def mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise: a cheap, well-spread 64-bit hash of each value."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def ngram_hashes(texts: Iterable[str], n: int, vocabulary: Vocabulary,
                 split: Callable[[str], list[str]] = words) -> NgramHashes:
    """Hash every word n-gram of every text; a text shorter than n words yields one n-gram."""
    if n < 1:
        raise ValueError(f"n-gram size must be >= 1, got {n}")
    encoded: list[int] = []
    lengths: list[int] = []
    pad = int(_PAD)
    for text in texts:
        ids = vocabulary.encode(split(text))
        if len(ids) < n:
            ids = ids + [pad] * (n - len(ids))
        encoded.extend(ids)
        lengths.append(len(ids))
    num_docs = len(lengths)
    if not encoded:
        empty = np.zeros(0, dtype=np.int64)
        return NgramHashes(np.zeros(0, dtype=np.uint64), empty, empty, num_docs)
    word_ids = np.array(encoded, dtype=np.uint64)
    length = np.array(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(length)[:-1]])
    # Valid n-gram starts: positions p with p + n <= end of p's document.
    count = length - n + 1
    doc = np.repeat(np.arange(num_docs, dtype=np.int64), count)
    position = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(count) - count, count
    )
    first = starts[doc] + position
    with np.errstate(over="ignore"):
        hashes = np.zeros(len(first), dtype=np.uint64)
        for k in range(n):
            hashes = hashes * HASH_MULTIPLIER + mix(word_ids[first + k] + np.uint64(k + 1))
        hashes = mix(hashes)
    return NgramHashes(hashes=hashes, doc=doc, position=position, num_docs=num_docs)
