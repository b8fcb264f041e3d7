"""Summaries of repeated benchmark trials, one definition for every script in benchmarks/.

Usage (from a sibling script): from trials import median_spread, median_quartiles
"""

from __future__ import annotations

import statistics


def median_spread(values: list[float], digits: int) -> dict:
    """Median and [min, max] of per-trial values."""
    return {"median": round(statistics.median(values), digits),
            "spread": [round(min(values), digits), round(max(values), digits)]}


def median_quartiles(values: list[float], digits: int = 4) -> dict:
    """Median, quartiles and extremes of per-trial values (quartiles = median for one trial)."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {"median": round(statistics.median(ordered), digits), "q1": round(quartiles[0], digits),
            "q3": round(quartiles[2], digits), "min": round(ordered[0], digits), "max": round(ordered[-1], digits)}
