"""Pool rows with one known defect each, for exercising curation's quality checks.

Every row names its defect in `expected_drop` (the curation stage that must drop it) so tests and
demos can check that nothing bad slips through and nothing is dropped for the wrong reason.
"""

from __future__ import annotations

# (defect, curation stage expected to drop it, row fields overriding a good row)
DEFECTS: list[tuple[str, str, dict]] = [
    ("asymptote figure", "quality", {"question": "[asy] draw((0,0)--(1,1)); [/asy] Find the slope."}),
    ("missing image", "quality", {"question": "Using the figure ![Image](fig1.png), find the area."}),
    ("enumerated parts", "quality", {"question": "p1. Find 2+2. p2. Find 3+3. p3. Find 4+4."}),
    ("bold numbering", "quality", {"question": "**1.** Compute 5 * 7. **2.** Compute 6 * 8."}),
    ("empty thinking", "trace quality", {"thinking": "   "}),
    ("empty question", "ingest", {"question": "  "}),
    ("non-string question", "ingest", {"question": 42}),
    ("missing answer", "ingest", {"answer": None}),
]


def defective_rows(seed: int) -> list[dict]:
    """One row per entry of DEFECTS, ids `bad-S-NN`; otherwise well-formed pool rows."""
    rows = []
    for index, (defect, stage, fields) in enumerate(DEFECTS):
        row = {
            "id": f"bad-{seed}-{index:02d}",
            "source": "synth-defects",
            "question": f"Compute {index + 10} + {seed % 90 + 10}.",
            "solution": "",
            "answer": str(index + 10 + seed % 90 + 10),
            "domain": "arithmetic",
            "thinking": f"{index + 10} + {seed % 90 + 10} = {index + 10 + seed % 90 + 10}",
            "metadata": {"defect": defect, "expected_drop": stage},
        }
        row.update(fields)
        rows.append(row)
    return rows
