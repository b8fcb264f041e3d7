"""Decontamination on real public data: recall and drops, s1's whitespace words vs normalised words.

Usage: python benchmarks/decontamination.py --data ../shared/data

Two measurements, each under three rules: s1's (lowercased whitespace 8-grams, any shared one
drops), normalised words (s1/curation/ngrams.py), and normalised words ignoring boilerplate.

1. Planted copies. Eval set: the AIME 2022-2024 rows of the AIME CSV (s1 evaluates on 2024; the
   2022-2024 rows must never reach training). Pool: TheoremQA, AIME 1983-2021, Omni-MATH,
   OlympiadBench, plus one copy of every eval question written as another source would write it
   (punctuation moved across `$`, math respaced, `\\dfrac`, `\\left(`). Recall: planted copies
   dropped / planted. Other drops: pool questions dropped that were not planted.
2. AGIEval `math` (1,000 MATH test problems, s1's pool took it) against the AIME CSV (MATH's
   hardest problems include AIME ones, written in MATH's LaTeX). Reference copies: pairs whose
   texts, lowercased with all whitespace removed, match at a difflib ratio >= 0.9 (independent
   of either word rule). Recall: reference copies dropped / reference copies.
3. AGIEval `math` against Omni-MATH and OlympiadBench (olympiad sources, few true copies): how
   many drops each rule makes where reference copies are rare.

Prints one line per rule and measurement; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import time
from pathlib import Path

from s1.curation.decontaminate import EvalQuestion, Rule, find_contamination
from s1.curation.ingest import ingest
from s1.curation.ngrams import Vocabulary, ngram_hashes

RULES = {
    "s1_whitespace": Rule(normalise=False),
    "normalised": Rule(),
    "normalised_ignore_boilerplate": Rule(ignore_boilerplate=True),
}
_MATH = re.compile(r"\$[^$]+\$")


def rewrite(text: str, rng: random.Random) -> str:
    """The same problem as another source writes it: spacing, punctuation and LaTeX synonyms."""
    text = re.sub(r"\$\s*([,.;])", r"\1$", text)  # "$1$ ," -> "$1,$"

    def math(match: re.Match) -> str:
        body = match.group(0)
        if " " in body.strip("$"):
            body = re.sub(r"(?<![a-zA-Z])\s+|\s+(?=[^a-zA-Z])", "", body)  # "x + y" -> "x+y"
        else:
            body = re.sub(r"([=+<>-])", r" \1 ", body)  # "x+y" -> "x + y"
        body = body.replace("\\frac", "\\dfrac")
        if rng.random() < 0.5:
            body = body.replace("(", "\\left(").replace(")", "\\right)")
        return body

    return _MATH.sub(math, text)


def measure(texts: list[str], evals: list[EvalQuestion], copies: set[int], rule: Rule) -> dict:
    start = time.perf_counter()
    matches = find_contamination(texts, evals, rule)
    seconds = time.perf_counter() - start
    dropped = {m.index for m in matches}
    others = [m for m in matches if m.index not in copies]
    recall = len(dropped & copies) / len(copies) if copies else None
    return {"recall": None if recall is None else round(recall, 4), "copies": len(copies),
            "caught": len(dropped & copies), "drops": len(dropped),
            "other_drops": len(others),
            "other_drops_boilerplate_only": sum(m.boilerplate_only for m in others),
            "seconds": round(seconds, 3)}


def planted(data: Path, seed: int) -> tuple[list[str], list[EvalQuestion], set[int]]:
    rng = random.Random(seed)
    aime = ingest([f"aime={data / 'aime_1983_2024.csv'}"]).questions
    evals = [EvalQuestion(q.id, "aime22-24", q.question) for q in aime
             if int(q.metadata["Year"]) >= 2022]
    train_aime = [q.question for q in aime if int(q.metadata["Year"]) <= 2021]
    others = ingest([f"theoremqa={data / 'theoremqa_test.json'}",
                     f"omnimath={data / 'omnimath_rule.jsonl'}",
                     f"olympiadbench={data / 'olympiadbench_math_en.jsonl'}"]).questions
    texts = train_aime + [q.question for q in others]
    copies = set()
    for question in evals:
        copies.add(len(texts))
        texts.append(rewrite(question.question, rng))
    return texts, evals, copies


def agieval(data: Path) -> tuple[list[str], list[EvalQuestion], set[int]]:
    pool = [q.question for q in ingest([f"agieval_math={data / 'agieval_math.jsonl'}"]).questions]
    aime = ingest([f"aime={data / 'aime_1983_2024.csv'}"]).questions
    evals = [EvalQuestion(q.id, "aime", q.question) for q in aime]
    return pool, evals, reference_copies(pool, [e.question for e in evals])


def agieval_olympiad(data: Path) -> tuple[list[str], list[EvalQuestion], set[int]]:
    pool = [q.question for q in ingest([f"agieval_math={data / 'agieval_math.jsonl'}"]).questions]
    evals = [EvalQuestion(q.id, q.source, q.question) for q in ingest([
        f"omnimath={data / 'omnimath_rule.jsonl'}",
        f"olympiadbench={data / 'olympiadbench_math_en.jsonl'}"]).questions]
    return pool, evals, reference_copies(pool, [e.question for e in evals])


def reference_copies(pool: list[str], evals: list[str], ratio: float = 0.9) -> set[int]:
    """Pool texts that are an eval text up to whitespace and case (difflib ratio >= `ratio`),
    checked on pairs that share any normalised 5-gram (a loose prefilter)."""
    vocabulary = Vocabulary()
    pool_grams, eval_grams = (ngram_hashes(texts, 5, vocabulary) for texts in (pool, evals))
    owners: dict[int, set[int]] = {}
    for value, doc in zip(eval_grams.hashes.tolist(), eval_grams.doc.tolist()):
        owners.setdefault(value, set()).add(doc)
    squash = [re.sub(r"\s+", "", text.lower()) for text in pool]
    squash_eval = [re.sub(r"\s+", "", text.lower()) for text in evals]
    candidates: dict[int, set[int]] = {}
    for value, doc in zip(pool_grams.hashes.tolist(), pool_grams.doc.tolist()):
        if value in owners:
            candidates.setdefault(doc, set()).update(owners[value])
    return {doc for doc, owners_ in candidates.items()
            if any(difflib.SequenceMatcher(None, squash[doc], squash_eval[e]).ratio() >= ratio
                   for e in owners_)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with the public files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {}
    for name, (texts, evals, copies) in {"planted_aime22_24": planted(args.data, args.seed),
                                         "agieval_vs_aime": agieval(args.data),
                                         "agieval_vs_olympiad": agieval_olympiad(args.data)}.items():
        results[name] = {"pool": len(texts), "eval": len(evals)}
        for rule_name, rule in RULES.items():
            figures = measure(texts, evals, copies, rule)
            results[name][rule_name] = figures
            print(f"{name:19} {rule_name:30} recall {figures['caught']}/{figures['copies']}; "
                  f"other drops {figures['other_drops']} "
                  f"({figures['other_drops_boilerplate_only']} boilerplate only)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
