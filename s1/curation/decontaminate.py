"""Decontamination: drop training questions that share word 8-grams with evaluation questions.

As in s1, any shared 8-gram drops the question by default; words are normalised first
(`s1/curation/ngrams.py`: LaTeX spacing and punctuation cannot hide a copy). The eval n-grams form
an inverted index (sorted hash array -> owning eval question), and every pool n-gram is looked up
in it with one vectorised binary search, so the cost is O((pool + eval) n-grams · log) rather
than O(pool × eval × length) string comparison.

Boilerplate: an n-gram that many pool questions share ("where $m$ and $n$ are relatively prime
positive integers. Find $m+n$") says nothing about which problem a question is. Each drop reports
how many of its shared n-grams are such boilerplate (held by at least `boilerplate_min_questions`
pool questions); `ignore_boilerplate` stops them from causing drops at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from s1.curation.ngrams import Vocabulary, ngram_hashes, whitespace_words, words
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
    ngram: str  # one shared n-gram (a distinctive one when there is one), as normalised words
    boilerplate: int = 0  # how many of the shared n-grams are boilerplate

    @property
    def boilerplate_only(self) -> bool:
        return self.boilerplate == self.shared


@dataclass(frozen=True)
class Rule:
    """When a training question counts as contaminated."""

    n: int = 8
    threshold: float = 0.0  # drop when more than this fraction of its n-grams is shared
    boilerplate_min_questions: int = 10
    ignore_boilerplate: bool = False
    normalise: bool = True  # False: s1's lowercased whitespace words

    @property
    def split(self):
        return words if self.normalise else whitespace_words


def find_contamination(texts: list[str], evals: list[EvalQuestion], rule: Rule = Rule()
                       ) -> list[Match]:
    """Training texts whose fraction of n-grams found in any eval question exceeds the threshold."""
    if not evals or not texts:
        return []
    vocabulary = Vocabulary()
    eval_grams = ngram_hashes((e.question for e in evals), rule.n, vocabulary, rule.split)
    # The inverted index: unique eval hash -> the first eval question holding it.
    index_hashes, first = np.unique(eval_grams.hashes, return_index=True)
    index_owner = eval_grams.doc[first]
    grams = ngram_hashes(texts, rule.n, vocabulary, rule.split)
    slot = np.searchsorted(index_hashes, grams.hashes)
    slot[slot == len(index_hashes)] = 0
    hit = np.flatnonzero(index_hashes[slot] == grams.hashes)
    if not len(hit):
        return []
    boilerplate = _pool_frequency(grams.hashes[hit], grams.doc[hit]) >= rule.boilerplate_min_questions
    if rule.ignore_boilerplate:
        hit, boilerplate = hit[~boilerplate], boilerplate[~boilerplate]
    hit_doc = grams.doc[hit]
    shared = np.bincount(hit_doc, minlength=grams.num_docs)
    boiler_shared = np.bincount(hit_doc[boilerplate], minlength=grams.num_docs)
    overlap = shared / np.maximum(grams.counts(), 1)
    contaminated = np.flatnonzero((shared > 0) & (overlap > rule.threshold))
    best = _best_owners(hit_doc, index_owner[slot[hit]], grams.position[hit], boilerplate, len(evals))
    matches = []
    for doc in contaminated.tolist():
        owner, position = best[doc]
        matches.append(Match(
            index=doc, eval_index=owner, shared=int(shared[doc]), overlap=float(overlap[doc]),
            ngram=" ".join(rule.split(texts[doc])[position : position + rule.n]),
            boilerplate=int(boiler_shared[doc]),
        ))
    return matches


def _pool_frequency(hashes: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """For each (hash, doc) hit, how many distinct pool questions hold that hash."""
    order = np.lexsort((docs, hashes))
    sorted_hashes, sorted_docs = hashes[order], docs[order]
    new_pair = np.ones(len(order), dtype=bool)
    new_pair[1:] = (sorted_hashes[1:] != sorted_hashes[:-1]) | (sorted_docs[1:] != sorted_docs[:-1])
    _, inverse = np.unique(sorted_hashes, return_inverse=True)
    frequency = np.bincount(inverse, weights=new_pair).astype(np.int64)
    result = np.empty(len(order), dtype=np.int64)
    result[order] = frequency[inverse]
    return result


def _best_owners(hit_doc: np.ndarray, hit_owner: np.ndarray, hit_position: np.ndarray,
                 boilerplate: np.ndarray, num_evals: int) -> dict[int, tuple[int, int]]:
    """Per contaminated text: the eval question owning most of its distinctive shared n-grams
    (all shared n-grams when every one is boilerplate), and the position of one of them."""
    keys = hit_doc * num_evals + hit_owner
    pairs, pair_first, pair_counts = np.unique(keys, return_index=True, return_counts=True)
    distinctive = ~boilerplate
    good_pairs, good_first, good_counts = np.unique(keys[distinctive], return_index=True,
                                                    return_counts=True)
    good = dict(zip(good_pairs.tolist(), zip(good_counts.tolist(),
                                             hit_position[distinctive][good_first].tolist())))
    best: dict[int, tuple[int, int, int, int]] = {}  # doc -> (distinctive, count, eval, position)
    for key, start, count in zip(pairs.tolist(), pair_first.tolist(), pair_counts.tolist()):
        doc, owner = divmod(key, num_evals)
        good_count, position = good.get(key, (0, int(hit_position[start])))
        if doc not in best or (good_count, count) > best[doc][:2]:
            best[doc] = (good_count, count, owner, position)
    return {doc: (owner, position) for doc, (_, _, owner, position) in best.items()}


def decontaminate(questions: list[Question], evals: list[EvalQuestion], rule: Rule = Rule()
                  ) -> tuple[list[Question], list[Drop], list[dict]]:
    """Remove contaminated questions; returns (kept, drops, one report row per match)."""
    matches = find_contamination([q.question for q in questions], evals, rule)
    drops, rows = [], []
    for match in matches:
        question, source = questions[match.index], evals[match.eval_index]
        rows.append({
            "id": question.id, "source": question.source,
            "eval_set": source.eval_set, "eval_id": source.id,
            "shared_ngrams": match.shared, "boilerplate_ngrams": match.boilerplate,
            "boilerplate_only": match.boilerplate_only, "overlap": round(match.overlap, 4),
            "ngram": match.ngram,
        })
        note = " (all boilerplate)" if match.boilerplate_only else ""
        drops.append(Drop(
            id=question.id, source=question.source, stage=STAGE, reason="contaminated",
            detail=f"{match.shared} shared {rule.n}-grams{note} ({match.overlap:.0%} of the "
            f"question) with {source.eval_set} question {source.id}, e.g. {match.ngram!r}",
        ))
    removed = {m.index for m in matches}
    return [q for i, q in enumerate(questions) if i not in removed], drops, rows


def summary(questions: list[Question], evals: list[EvalQuestion], rule: Rule, rows: list[dict]
            ) -> dict:
    """Drop counts of this rule beside s1's (whitespace words, boilerplate counted): what the
    normalisation and the boilerplate option changed, on this very pool."""
    s1_rule = replace(rule, normalise=False, ignore_boilerplate=False)
    s1_ids = {questions[m.index].id
              for m in find_contamination([q.question for q in questions], evals, s1_rule)}
    ids = {row["id"] for row in rows}
    return {"rule": {"n": rule.n, "threshold": rule.threshold, "normalise": rule.normalise,
                     "ignore_boilerplate": rule.ignore_boilerplate,
                     "boilerplate_min_questions": rule.boilerplate_min_questions},
            "dropped": len(ids), "boilerplate_only": sum(row["boilerplate_only"] for row in rows),
            "s1_whitespace_dropped": len(s1_ids), "only_this_rule": len(ids - s1_ids),
            "only_s1_whitespace": len(s1_ids - ids)}
