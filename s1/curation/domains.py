"""Domain classification for diversity: s1's two-digit Mathematics Subject Classification codes.

The judge model reads the question with s1's MSC prompt (simplescaling/s1
`data/featurization.py`: its system prompt, and a user turn of the question followed by the
classification rubric, one `### title` / `* Code:` entry per code) and ends its reply with one
code. s1's rubric also lists each code's second-level MSC areas; this one lists titles only
(about a fifth of the tokens per call). A question that already has a `domain` in the pool keeps
it (no call). Replies without a known code become "unknown", counted in the report.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from s1.curation.calls import Calls
from s1.curation.client import ModelClient
from s1.curation.records import Question

# The 61 top-level Mathematics Subject Classification 2020 codes s1 classifies into (sciences
# such as physics fall under 70-86 and 92, computer science under 68).
MSC_CODES: dict[str, str] = {
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
UNKNOWN = "unknown"
_CODE = re.compile(r"\b(\d{2})\b")

# s1's system prompt for domain classification, word for word.
CLASSIFY_SYSTEM_PROMPT = (
    "You are a helpful assistant that classifies questions into different subjects based on the "
    "provided classification rubrics. You will be given a question and a list of subjects. You "
    "need to classify the question into one of the subjects. If the question has multiple "
    "subjects, you should classify the question into the most relevant subject. Explain your "
    "reasoning, and end your response on a new line with two-digit code of the subject that the "
    "question belongs to."
)


@cache
def rubric() -> str:
    """The classification rubric: one entry per code, in s1's layout."""
    return "\n\n".join(f"### {title}\n* Code: {code}" for code, title in MSC_CODES.items())


def classification_prompt(question: str) -> str:
    """s1's user turn for one classification call."""
    return f"## Question\n{question}\n\n## Classification rubrics\n{rubric()}"


def parse_domain(reply: str) -> str:
    """The last known code in the reply (s1 reads its last two characters), else UNKNOWN."""
    for found in reversed(_CODE.findall(reply)):
        if found in MSC_CODES:
            return found
    return UNKNOWN


def classify_domains(questions: list[Question], grader: ModelClient | None, calls: Calls) -> Counter:
    """Give every question a domain; returns a tally of how each was obtained."""
    tally: Counter = Counter()
    todo = [q for q in questions if not q.domain]
    tally["from pool"] = len(questions) - len(todo)
    if not todo:
        return tally
    if grader is None:
        for question in todo:
            question.domain = UNKNOWN
        tally["unknown (no judge)"] = len(todo)
        return tally
    prompts = [classification_prompt(q.question) for q in todo]
    outcomes = calls.run(grader, prompts, role="judge", desc="domains", system=CLASSIFY_SYSTEM_PROMPT)
    for question, outcome in zip(todo, outcomes):
        question.domain = parse_domain(outcome.result.content) if outcome.result else UNKNOWN
        tally["classified" if question.domain != UNKNOWN else
              ("judge error" if outcome.error else "no code in reply")] += 1
    return tally
