"""Decontamination: drop training questions that share word 8-grams with evaluation questions.

As in s1: lowercase, collapse whitespace, word 8-grams; by default any shared 8-gram drops the
question. The eval n-grams form an inverted index (sorted hash array -> owning eval question), and
every pool n-gram is looked up in it with one vectorised binary search, so the cost is
O((pool + eval) n-grams · log) rather than O(pool × eval × length) string comparison.
Each drop records the eval question it matched, the overlap and one shared n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s1.curation.ngrams import Vocabulary, ngram_hashes
from s1.curation.records import Drop, Question

STAGE = "decontaminate"


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    eval_set: str
    question: str


@dataclass(frozen=True)
class Match:
    """One contaminated training question and the eval question it overlaps most."""

    index: int  # into the training questions
    eval_index: int  # into the eval questions
    shared: int  # number of the training question's n-grams found in the eval index
    overlap: float  # shared / the training question's n-grams
    ngram: str  # one shared n-gram, as normalised words


def find_contamination(texts: list[str], evals: list[EvalQuestion], n: int = 8,
                       threshold: float = 0.0) -> list[Match]:
    """Training texts whose fraction of n-grams found in any eval question exceeds `threshold`."""
    if not evals or not texts:
        return []
    vocabulary = Vocabulary()
    eval_grams = ngram_hashes((e.question for e in evals), n, vocabulary)
    # The inverted index: unique eval hash -> the first eval question holding it.
    index_hashes, first = np.unique(eval_grams.hashes, return_index=True)
    index_owner = eval_grams.doc[first]
    grams = ngram_hashes(texts, n, vocabulary)
    slot = np.searchsorted(index_hashes, grams.hashes)
    slot[slot == len(index_hashes)] = 0
    hit = index_hashes[slot] == grams.hashes
    if not hit.any():
        return []
    shared = np.bincount(grams.doc[hit], minlength=grams.num_docs)
    overlap = shared / np.maximum(grams.counts(), 1)
    contaminated = np.flatnonzero((shared > 0) & (overlap > threshold))
    # Per contaminated text, the eval question owning most of its shared n-grams.
    hit_doc, hit_owner, hit_position = grams.doc[hit], index_owner[slot[hit]], grams.position[hit]
    pairs, pair_first, pair_counts = np.unique(
        hit_doc * len(evals) + hit_owner, return_index=True, return_counts=True
    )
    best: dict[int, tuple[int, int, int]] = {}  # doc -> (count, eval, position)
    for key, start, count in zip(pairs.tolist(), pair_first.tolist(), pair_counts.tolist()):
        doc, owner = divmod(key, len(evals))
        if doc not in best or count > best[doc][0]:
            best[doc] = (count, owner, int(hit_position[start]))
    matches = []
    for doc in contaminated.tolist():
        _, owner, position = best[doc]
        words = texts[doc].lower().split()
        matches.append(Match(
            index=doc, eval_index=owner, shared=int(shared[doc]), overlap=float(overlap[doc]),
            ngram=" ".join(words[position : position + n]),
        ))
    return matches


def decontaminate(questions: list[Question], evals: list[EvalQuestion], n: int = 8,
                  threshold: float = 0.0) -> tuple[list[Question], list[Drop], list[dict]]:
    """Remove contaminated questions; returns (kept, drops, one report row per match)."""
    matches = find_contamination([q.question for q in questions], evals, n, threshold)
    drops, rows = [], []
    for match in matches:
        question, source = questions[match.index], evals[match.eval_index]
        rows.append({
            "id": question.id, "source": question.source,
            "eval_set": source.eval_set, "eval_id": source.id,
            "shared_ngrams": match.shared, "overlap": round(match.overlap, 4),
            "ngram": match.ngram,
        })
        drops.append(Drop(
            id=question.id, source=question.source, stage=STAGE, reason="contaminated",
            detail=f"{match.shared} shared {n}-grams ({match.overlap:.0%} of the question) with "
            f"{source.eval_set} question {source.id}, e.g. {match.ngram!r}",
        ))
    removed = {m.index for m in matches}
    return [q for i, q in enumerate(questions) if i not in removed], drops, rows
