"""Domain classification for diversity: MSC two-digit codes, plus non-math sciences (s1 §2.3).

The grader model reads the question and ends its reply with one code. A question that already
has a `domain` in the pool keeps it (no call). Replies without a known code become "unknown",
counted in the report.
"""

from __future__ import annotations

import re
from collections import Counter

from s1.curation.cache import CallCache
from s1.curation.calls import call_all
from s1.curation.client import ModelClient
from s1.curation.records import Question

# Mathematics Subject Classification 2020, top level (two-digit codes).
MSC_CODES: dict[str, str] = {
    "00": "General and overarching topics", "01": "History and biography",
    "03": "Mathematical logic and foundations", "05": "Combinatorics",
    "06": "Order, lattices, ordered algebraic structures", "08": "General algebraic systems",
    "11": "Number theory", "12": "Field theory and polynomials", "13": "Commutative algebra",
    "14": "Algebraic geometry", "15": "Linear and multilinear algebra; matrix theory",
    "16": "Associative rings and algebras", "17": "Nonassociative rings and algebras",
    "18": "Category theory; homological algebra", "19": "K-theory", "20": "Group theory",
    "22": "Topological groups, Lie groups", "26": "Real functions", "28": "Measure and integration",
    "30": "Functions of a complex variable", "31": "Potential theory",
    "32": "Several complex variables and analytic spaces", "33": "Special functions",
    "34": "Ordinary differential equations", "35": "Partial differential equations",
    "37": "Dynamical systems and ergodic theory", "39": "Difference and functional equations",
    "40": "Sequences, series, summability", "41": "Approximations and expansions",
    "42": "Harmonic analysis on Euclidean spaces", "43": "Abstract harmonic analysis",
    "44": "Integral transforms, operational calculus", "45": "Integral equations",
    "46": "Functional analysis", "47": "Operator theory",
    "49": "Calculus of variations and optimal control", "51": "Geometry",
    "52": "Convex and discrete geometry", "53": "Differential geometry", "54": "General topology",
    "55": "Algebraic topology", "57": "Manifolds and cell complexes",
    "58": "Global analysis, analysis on manifolds", "60": "Probability theory and stochastic processes",
    "62": "Statistics", "65": "Numerical analysis", "68": "Computer science",
    "70": "Mechanics of particles and systems", "74": "Mechanics of deformable solids",
    "76": "Fluid mechanics", "78": "Optics, electromagnetic theory",
    "80": "Classical thermodynamics, heat transfer", "81": "Quantum theory",
    "82": "Statistical mechanics, structure of matter", "83": "Relativity and gravitational theory",
    "85": "Astronomy and astrophysics", "86": "Geophysics",
    "90": "Operations research, mathematical programming", "91": "Game theory, economics, finance",
    "92": "Biology and other natural sciences", "93": "Systems theory; control",
    "94": "Information and communication, circuits", "97": "Mathematics education",
}
# Questions outside mathematics proper (s1's pool has GPQA, JEEBench, SciBench, LiveCodeBench).
SCIENCE_DOMAINS = ("physics", "chemistry", "biology", "computer_science")
UNKNOWN = "unknown"
_CODE = re.compile(r"\b(\d{2}|" + "|".join(SCIENCE_DOMAINS) + r")\b", re.IGNORECASE)

CLASSIFY_PROMPT = """Classify the following question into exactly one domain.

Question:
{question}

Domains (Mathematics Subject Classification two-digit codes, or a science):
{domains}

Think briefly, then end your reply with the code alone (for example: 11) or the science name
alone (for example: physics)."""


def domain_list() -> str:
    codes = [f"{code} {name}" for code, name in MSC_CODES.items()]
    return "\n".join(codes + list(SCIENCE_DOMAINS))


def parse_domain(reply: str) -> str:
    """The last known code or science name in the reply, else UNKNOWN."""
    for found in reversed(_CODE.findall(reply)):
        label = found.lower()
        if label in SCIENCE_DOMAINS or label in MSC_CODES:
            return label
    return UNKNOWN


def classify_domains(questions: list[Question], grader: ModelClient | None,
                     cache: CallCache) -> Counter:
    """Give every question a domain; returns a tally of how each was obtained."""
    tally: Counter = Counter()
    todo = [q for q in questions if not q.domain]
    tally["from pool"] = len(questions) - len(todo)
    if not todo:
        return tally
    if grader is None:
        for question in todo:
            question.domain = UNKNOWN
        tally["unknown (no grader)"] = len(todo)
        return tally
    listing = domain_list()
    prompts = [CLASSIFY_PROMPT.format(question=q.question, domains=listing) for q in todo]
    for question, outcome in zip(todo, call_all(grader, prompts, cache, desc="domains")):
        question.domain = parse_domain(outcome.result.content) if outcome.result else UNKNOWN
        tally["classified" if question.domain != UNKNOWN else
              ("grader error" if outcome.error else "no code in reply")] += 1
    return tally
