"""A deterministic synthetic question pool: verifiable questions with worked traces.

Each row follows the pool schema of docs/architecture.md (id, source, question, solution, answer,
domain, metadata) and also carries `thinking`, the step-by-step teacher trace the skeleton trains
on. Difficulty is the number of steps, so trace length grows with it, as in s1's pool.

The `counting` slice is what a laptop demo model learns from: "Count the words: fig kiwi fig
..." with a trace that enumerates the words (`1 fig`, `2 kiwi`, ...), each line a copy and an
increment, which a 135M model can do but cannot replace by counting in one go; so accuracy rises
with the thinking budget (select it with `synthesize_pool(n, seed, {"counting": 1})` or
`s1 pool synth --domains counting`). The `arithmetic` slice chains two-digit additions and
subtractions, one running total per trace line (`85 - 19 = 66`); each step is harder for a
135M model (a few-shot probe of SmolLM2-135M gets 2-digit ± 2-digit right 6% of the time).

Question texts are terse on purpose: fewer than eight template words, or numbers interleaved, so
two questions only share a word 8-gram when they really are the same question (decontamination
works on 8-grams; verbose templates would make every templated question look contaminated).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Callable, NamedTuple

SOURCE = "synth"
# Domain -> share of the pool; arithmetic is the slice the demo model learns best.
DOMAIN_WEIGHTS: dict[str, float] = {
    "counting": 0.25,
    "arithmetic": 0.25,
    "algebra": 0.1,
    "number_theory": 0.1,
    "combinatorics": 0.1,
    "probability": 0.1,
    "geometry": 0.1,
}
MAX_STEPS = 6
# Words of the counting questions (one token each in common tokenizers, none a number word).
_WORDS = ("apple pear fig kiwi lime plum date grape mango peach melon berry lemon olive cherry "
          "bean corn rice oat pea nut egg milk tea salt honey bread cake pie jam").split()
# Redraws allowed for one row before its domain counts as exhausted (small parameter spaces).
_MAX_REDRAWS = 50


class Problem(NamedTuple):
    """What one generator returns; `lines` are the trace, one computation per line."""

    question: str
    lines: list[str]
    answer: str
    steps: int


def _counting(rng: random.Random, steps: int) -> Problem:
    """Count the words by enumerating them: each trace line is a copy plus an increment."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(2 * steps, 2 * steps + 2))]
    lines = [f"{index} {word}" for index, word in enumerate(words, start=1)]
    return Problem(f"Count the words: {' '.join(words)}.", lines, str(len(words)), len(words))


def _arithmetic(rng: random.Random, steps: int) -> Problem:
    total = rng.randint(10, 99)
    question, lines = [str(total)], []
    for _ in range(steps):
        operand = rng.randint(10, 99)
        # Subtract only when the running total stays positive: answers are short positive ints.
        op = "-" if total > operand and rng.random() < 0.5 else "+"
        new = total + operand if op == "+" else total - operand
        lines.append(f"{total} {op} {operand} = {new}")
        question += [op, str(operand)]
        total = new
    return Problem(f"Compute {' '.join(question)}.", lines, str(total), steps)


def _algebra(rng: random.Random, steps: int) -> Problem:
    x = rng.randint(-12, 20)
    a = rng.randint(2, 9)
    b = rng.randint(1, 40)
    if steps <= 2:
        c = a * x + b
        lines = [f"{a}x + {b} = {c}", f"{a}x = {c} - {b} = {c - b}", f"x = {c - b} / {a} = {x}"]
        return Problem(f"Solve for x: {a}x + {b} = {c}.", lines, str(x), 2)
    # ax + b = dx + e with a != d: one more step (collect x terms).
    d = rng.choice([k for k in range(1, 9) if k != a])
    e = a * x + b - d * x
    lines = [
        f"{a}x + {b} = {d}x + {e}",
        f"{a}x - {d}x = {e} - {b}",
        f"{a - d}x = {e - b}",
        f"x = {e - b} / {a - d} = {x}",
    ]
    return Problem(f"Solve for x: {a}x + {b} = {d}x + {e}.", lines, str(x), 3)


def _number_theory(rng: random.Random, steps: int) -> Problem:
    kind = rng.choice(["gcd", "powmod", "digits"])
    if kind == "gcd":
        g = rng.randint(2, 30)
        a, b = sorted((g * rng.randint(2, 40), g * rng.randint(2, 40)), reverse=True)
        question, lines, x, y = f"Find gcd({a}, {b}).", [], a, b
        while y:
            lines.append(f"{x} = {x // y} * {y} + {x % y}")
            x, y = y, x % y
        lines.append(f"gcd = {x}")
        return Problem(question, lines, str(x), len(lines))
    if kind == "powmod":
        base, exponent, modulus = rng.randint(2, 12), steps + 1, rng.randint(5, 31)
        value, lines = 1, []
        for k in range(1, exponent + 1):
            new = value * base % modulus
            lines.append(f"{base}^{k} mod {modulus} = {value} * {base} mod {modulus} = {new}")
            value = new
        return Problem(f"What is {base}^{exponent} mod {modulus}?", lines, str(value), exponent)
    number = rng.randint(10 ** steps, 10 ** (steps + 1) - 1)
    digits, total, lines = str(number), 0, []
    for digit in digits:
        lines.append(f"{total} + {digit} = {total + int(digit)}")
        total += int(digit)
    return Problem(f"Sum of the digits of {number}?", lines, str(total), len(digits))


def _combinatorics(rng: random.Random, steps: int) -> Problem:
    k = min(steps, 5)
    n = rng.randint(k + 2, 99)
    falling, lines = 1, []
    for i in range(k):
        lines.append(f"{falling} * {n - i} = {falling * (n - i)}")
        falling *= n - i
    if rng.random() < 0.5:
        question = f"How many {k}-letter codes from {n} letters, no letter repeated?"
        return Problem(question, lines, str(falling), k)
    lines.append(f"{k}! = {math.factorial(k)}")
    lines.append(f"{falling} / {math.factorial(k)} = {math.comb(n, k)}")
    return Problem(f"Compute C({n}, {k}).", lines, str(math.comb(n, k)), k + 2)


def _probability(rng: random.Random, steps: int) -> Problem:
    kind = rng.choice(["dice", "bag", "coins"])
    if kind == "dice":
        sides = rng.choice([4, 6, 8, 10, 12, 20])
        target = rng.randint(3, 2 * sides - 1)
        pairs = [(i, target - i) for i in range(1, sides + 1) if 1 <= target - i <= sides]
        p = Fraction(len(pairs), sides * sides)
        lines = [
            f"outcomes = {sides} * {sides} = {sides * sides}",
            "pairs: " + " ".join(f"({i},{j})" for i, j in pairs),
            f"favourable = {len(pairs)}",
            f"P = {len(pairs)}/{sides * sides} = {p}",
        ]
        return Problem(f"Two fair {sides}-sided dice: P(sum = {target})?", lines, str(p), 3)
    if kind == "coins":
        flips = rng.randint(2, 2 + steps * 3)
        heads = rng.randint(0, flips)
        p = Fraction(math.comb(flips, heads), 2**flips)
        lines = [
            f"outcomes = 2^{flips} = {2**flips}",
            f"favourable = C({flips}, {heads}) = {math.comb(flips, heads)}",
            f"P = {math.comb(flips, heads)}/{2**flips} = {p}",
        ]
        return Problem(f"{flips} fair coin flips: P(exactly {heads} heads)?", lines, str(p), 3)
    red, blue = rng.randint(2, 60), rng.randint(1, 60)
    total = red + blue
    p = Fraction(red * (red - 1), total * (total - 1))
    lines = [
        f"total = {red} + {blue} = {total}",
        f"first red: {red}/{total}",
        f"second red: {red - 1}/{total - 1}",
        f"P = {red}/{total} * {red - 1}/{total - 1} = {red * (red - 1)}/{total * (total - 1)} = {p}",
    ]
    return Problem(f"Bag: {red} red, {blue} blue. Draw 2. P(both red)?", lines, str(p), 4)


_TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)]


def _geometry(rng: random.Random, steps: int) -> Problem:
    kind = rng.choice(["hypotenuse", "rectangle", "triangle"])
    if kind == "hypotenuse":
        a, b, c = rng.choice(_TRIPLES)
        scale = rng.randint(1, 12)
        a, b, c = a * scale, b * scale, c * scale
        lines = [f"{a}^2 = {a * a}", f"{b}^2 = {b * b}", f"{a * a} + {b * b} = {c * c}",
                 f"sqrt({c * c}) = {c}"]
        return Problem(f"Right triangle legs {a} and {b}: hypotenuse?", lines, str(c), 4)
    if kind == "rectangle":
        w, h = rng.randint(2, 60), rng.randint(2, 60)
        lines = [f"{w} + {h} = {w + h}", f"2 * {w + h} = {2 * (w + h)}"]
        return Problem(f"Perimeter of a {w} by {h} rectangle?", lines, str(2 * (w + h)), 2)
    base, height = 2 * rng.randint(1, 40), rng.randint(2, 60)
    lines = [f"{base} * {height} = {base * height}", f"{base * height} / 2 = {base * height // 2}"]
    return Problem(f"Triangle base {base}, height {height}: area?", lines, str(base * height // 2), 2)


GENERATORS: dict[str, Callable[[random.Random, int], Problem]] = {
    "counting": _counting,
    "arithmetic": _arithmetic,
    "algebra": _algebra,
    "number_theory": _number_theory,
    "combinatorics": _combinatorics,
    "probability": _probability,
    "geometry": _geometry,
}


def difficulty_label(steps: int) -> str:
    return "easy" if steps <= 2 else "medium" if steps <= 4 else "hard"


def synthesize_pool(n: int, seed: int, domains: dict[str, float] | None = None) -> list[dict]:
    """`n` distinct questions, deterministic for (`n`, `seed`, `domains`); ids `synth-S-IIIIII`."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    weights = dict(domains or DOMAIN_WEIGHTS)
    unknown = sorted(set(weights) - set(GENERATORS))
    if unknown:
        raise ValueError(f"unknown domains {unknown}; choose from {sorted(GENERATORS)}")
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[dict] = []
    while len(rows) < n:
        if not weights:
            raise ValueError(f"the chosen domains hold fewer than {n} distinct questions")
        names = sorted(weights)
        domain = rng.choices(names, weights=[weights[d] for d in names])[0]
        for _ in range(_MAX_REDRAWS):
            problem = GENERATORS[domain](rng, rng.randint(1, MAX_STEPS))
            if problem.question not in seen:
                break
        else:
            del weights[domain]  # this domain's parameter space is used up
            continue
        question, lines, answer, steps = problem
        seen.add(question)
        rows.append(
            {
                "id": f"synth-{seed}-{len(rows):06d}",
                "source": SOURCE,
                "question": question,
                "solution": "\n".join(lines) + f"\nThe answer is {answer}.",
                "answer": answer,
                "domain": domain,
                "thinking": "\n".join(lines),
                "metadata": {"steps": steps, "difficulty": difficulty_label(steps)},
            }
        )
    return rows
