"""Exact and near-duplicate questions across all sources (s1 deduplicates sources against each other).

Exact: same normalised text (lowercase, collapsed whitespace). Near: Jaccard similarity of word
n-gram sets at or above a threshold, found with MinHash + LSH banding (candidate pairs only) and
confirmed with the exact Jaccard, so the cost stays linear in the pool instead of quadratic.
The first question (in source order) of each group is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s1.curation.ngrams import HASH_MULTIPLIER, Vocabulary, mix, ngram_hashes, normalize
from s1.curation.records import Drop, Question

STAGE = "dedupe"
NUM_PERMUTATIONS = 64
# 16 bands of 4 rows: pairs at Jaccard 0.8 become candidates with probability ~1 - (1-0.8^4)^16.
BANDS = 16
# A document is compared with at most this many earlier members of its LSH bucket, so a
# pathological bucket (thousands of templated questions) cannot make the stage quadratic.
MAX_COMPARISONS = 50


@dataclass(frozen=True)
class Duplicate:
    index: int  # the dropped question
    kept: int  # the question it duplicates
    similarity: float  # 1.0 for exact duplicates


def find_duplicates(texts: list[str], ngram: int = 5, threshold: float = 0.8,
                    seed: int = 0) -> list[Duplicate]:
    """Duplicates among `texts`, each pointing at an earlier text that is kept."""
    duplicates: list[Duplicate] = []
    canonical: dict[str, int] = {}
    unique: list[int] = []
    for index, text in enumerate(texts):
        key = normalize(text)
        if key in canonical:
            duplicates.append(Duplicate(index, canonical[key], 1.0))
        else:
            canonical[key] = index
            unique.append(index)
    if threshold >= 1.0 or len(unique) < 2:
        return duplicates
    grams = ngram_hashes((texts[i] for i in unique), ngram, Vocabulary())
    signatures = _minhash(grams.hashes, grams.doc, len(unique), seed)
    sets: dict[int, frozenset] = {}

    def gram_set(doc: int) -> frozenset:
        # Python sets of ints: Jaccard on a few dozen n-grams is ~1 µs, numpy's set ops ~20 µs.
        if doc not in sets:
            start, end = np.searchsorted(grams.doc, [doc, doc + 1])
            sets[doc] = frozenset(grams.hashes[start:end].tolist())
        return sets[doc]

    compared: set[tuple[int, int]] = set()
    removed: set[int] = set()
    rows = NUM_PERMUTATIONS // BANDS
    for band in range(BANDS):
        # Documents sharing all `rows` MinHash values of a band are candidates; group them with
        # one np.unique and only visit the (few) groups with more than one member.
        keys = signatures[:, band * rows]
        with np.errstate(over="ignore"):
            for row in range(1, rows):
                keys = mix(keys * HASH_MULTIPLIER + signatures[:, band * rows + row])
        _, group, sizes = np.unique(keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(sizes[group] > 1)
        members: dict[int, list[int]] = {}
        for doc in shared.tolist():
            members.setdefault(int(group[doc]), []).append(doc)
        for docs in members.values():
            kept = [d for d in docs if d not in removed]
            for position, doc in enumerate(kept[1:], start=1):
                for first in kept[: min(position, MAX_COMPARISONS)]:
                    if first in removed or (first, doc) in compared:
                        continue
                    compared.add((first, doc))
                    a, b = gram_set(first), gram_set(doc)
                    similarity = len(a & b) / len(a | b)
                    if similarity >= threshold:
                        removed.add(doc)
                        duplicates.append(Duplicate(unique[doc], unique[first], float(similarity)))
                        break
    return sorted(duplicates, key=lambda d: d.index)


def _minhash(hashes: np.ndarray, doc: np.ndarray, num_docs: int, seed: int) -> np.ndarray:
    """(num_docs, NUM_PERMUTATIONS) MinHash signatures, all documents at once."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=NUM_PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=NUM_PERMUTATIONS, dtype=np.uint64)
    starts = np.searchsorted(doc, np.arange(num_docs))
    signatures = np.empty((num_docs, NUM_PERMUTATIONS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(NUM_PERMUTATIONS):
            permuted = hashes * a[k] + b[k]
            signatures[:, k] = np.minimum.reduceat(permuted, starts)
    return signatures


def dedupe(questions: list[Question], ngram: int = 5,
           threshold: float = 0.8) -> tuple[list[Question], list[Drop]]:
    """Keep the first of each duplicate group; drops name the kept question."""
    found = find_duplicates([q.question for q in questions], ngram, threshold)
    drops = []
    for duplicate in found:
        question, kept = questions[duplicate.index], questions[duplicate.kept]
        exact = duplicate.similarity >= 1.0 and normalize(question.question) == normalize(kept.question)
        drops.append(Drop(
            id=question.id, source=question.source, stage=STAGE,
            reason="exact duplicate" if exact else "near duplicate",
            detail=f"duplicates {kept.id} ({kept.source})"
            + ("" if exact else f", Jaccard {duplicate.similarity:.2f} on word {ngram}-grams"),
        ))
    dropped = {d.index for d in found}
    return [q for i, q in enumerate(questions) if i not in dropped], drops
