"""Curation outputs: selected.jsonl, dropped.jsonl, report.json, the report as report.md and
report.html (`report_page`), and PNG plots."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

from s1.curation.records import Drop, Question
from s1.curation.report_page import html, markdown
from s1.jsonl import write_jsonl

SELECTED = "selected.jsonl"
DROPPED = "dropped.jsonl"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
TRACE_PLOT = "trace_lengths.png"
DOMAIN_PLOT = "domains.png"


def drop_reasons(drops: list[Drop]) -> dict[str, dict[str, int]]:
    """{stage: {reason: count}} in stage order of first appearance."""
    reasons: dict[str, Counter] = {}
    for drop in drops:
        reasons.setdefault(drop.stage, Counter())[drop.reason] += 1
    return {stage: dict(counter.most_common()) for stage, counter in reasons.items()}


def length_summary(values: list[int]) -> dict:
    if not values:
        return {"count": 0}
    return {"count": len(values), "min": min(values), "median": statistics.median(values),
            "mean": round(statistics.fmean(values), 1), "max": max(values),
            "total": sum(values)}


def plot_trace_lengths(candidates: list[int], selected: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    bins = 40 if candidates else 1
    if candidates:
        axis.hist(candidates, bins=bins, alpha=0.5, label=f"candidates ({len(candidates)})",
                  density=True)
    if selected:
        axis.hist(selected, bins=bins, alpha=0.6, label=f"selected ({len(selected)})", density=True)
    axis.set_xlabel("thinking tokens (target tokenizer)")
    axis.set_ylabel("density")
    axis.set_title("Trace length: selection vs. candidates", pad=28)
    if candidates or selected:  # above the axes, never on a bar
        axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def domain_figure(candidates: Counter, selected: Counter, top: int = 30):
    """Horizontal bars of each domain's share; the legend sits above the axes, never on a bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _ in (selected + candidates).most_common(top)]
    figure, axis = plt.subplots(figsize=(8, max(3, 0.3 * len(names) + 1.4)))
    positions = range(len(names))
    total_c, total_s = max(sum(candidates.values()), 1), max(sum(selected.values()), 1)
    axis.barh([p - 0.2 for p in positions], [candidates[n] / total_c for n in names], height=0.4,
              label="candidates")
    axis.barh([p + 0.2 for p in positions], [selected[n] / total_s for n in names], height=0.4,
              label="selected")
    axis.set_yticks(list(positions), names)
    axis.invert_yaxis()
    axis.set_xlabel("share")
    axis.set_title("Domains: selection vs. candidates", pad=28)
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    figure.tight_layout()
    return figure


def plot_domains(candidates: Counter, selected: Counter, path: Path, top: int = 30) -> None:
    import matplotlib.pyplot as plt

    figure = domain_figure(candidates, selected, top)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def metrics(report: dict) -> dict[str, float]:
    """Flat numbers for a KFP `Output[Metrics]` (log_metric) or any metrics sink."""
    values: dict[str, float] = {"pool_rows": report["pool_rows"], "selected": report["selected"],
                                "eval_questions": report["eval_questions"],
                                "contaminated": len(report["contamination"]),
                                "contaminated_boilerplate_only": sum(
                                    row["boilerplate_only"] for row in report["contamination"]),
                                "seconds": report["seconds"]}
    for stage in report["stages"]:
        values[f"after_{stage['stage'].replace(' ', '_')}"] = stage["out"]
    for name, summary in report["thinking_tokens"].items():
        if summary.get("count"):
            values[f"{name}_thinking_tokens_mean"] = summary["mean"]
    values["selected_domains"] = len(report["domains"]["selected"])
    return values


def write_outputs(out: Path, selected: list[Question], candidates: list[Question],
                  drops: list[Drop], report: dict) -> dict:
    """Write every output file; returns the report with the domain/length figures filled in."""
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / SELECTED, (q.training_example() for q in selected))
    write_jsonl(out / DROPPED, (d.as_dict() for d in drops))
    candidate_domains = Counter(q.domain or "unknown" for q in candidates)
    selected_domains = Counter(q.domain or "unknown" for q in selected)
    candidate_lengths = [q.thinking_tokens for q in candidates if q.thinking_tokens is not None]
    selected_lengths = [q.thinking_tokens for q in selected if q.thinking_tokens is not None]
    report = {
        **report,
        "selected": len(selected),
        "drop_reasons": drop_reasons(drops),
        "domains": {"candidates": dict(candidate_domains.most_common()),
                    "selected": dict(selected_domains.most_common())},
        "thinking_tokens": {"candidates": length_summary(candidate_lengths),
                            "selected": length_summary(selected_lengths)},
        "plots": [TRACE_PLOT, DOMAIN_PLOT],
        "files": {"selected": SELECTED, "dropped": DROPPED, "report": REPORT_MD,
                  "html": REPORT_HTML},
    }
    plot_trace_lengths(candidate_lengths, selected_lengths, out / TRACE_PLOT)
    plot_domains(candidate_domains, selected_domains, out / DOMAIN_PLOT)
    (out / REPORT_JSON).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / REPORT_MD).write_text(markdown(report))
    (out / REPORT_HTML).write_text(html(report, out))
    return report
