"""Curation outputs: selected.jsonl, dropped.jsonl, report.json, report.md and PNG plots."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

from s1.curation.records import Drop, Question
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
    axis.set_title("Trace length: selection vs. candidates")
    if candidates or selected:
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_domains(candidates: Counter, selected: Counter, path: Path, top: int = 30) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _ in (selected + candidates).most_common(top)]
    figure, axis = plt.subplots(figsize=(8, max(3, 0.3 * len(names) + 1)))
    positions = range(len(names))
    total_c, total_s = max(sum(candidates.values()), 1), max(sum(selected.values()), 1)
    axis.barh([p + 0.2 for p in positions], [candidates[n] / total_c for n in names], height=0.4,
              label="candidates")
    axis.barh([p - 0.2 for p in positions], [selected[n] / total_s for n in names], height=0.4,
              label="selected")
    axis.set_yticks(list(positions), names)
    axis.invert_yaxis()
    axis.set_xlabel("share")
    axis.set_title("Domains: selection vs. candidates")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(report: dict) -> str:
    """A human-readable summary of report.json."""
    lines = ["# Curation report", "",
             f"Selected **{report['selected']}** of {report['pool_rows']} pool rows "
             f"(target {report['config']['n']}, seed {report['config']['seed']}).", "",
             "## Stages", "", "| stage | in | out | dropped | seconds |", "| --- | --- | --- | --- | --- |"]
    for stage in report["stages"]:
        lines.append(f"| {stage['stage']} | {stage['in']} | {stage['out']} | {stage['dropped']} "
                     f"| {stage['seconds']:.2f} |")
    lines += ["", "## Drop reasons", "", "| stage | reason | count |", "| --- | --- | --- |"]
    for stage, reasons in report["drop_reasons"].items():
        for reason, count in reasons.items():
            lines.append(f"| {stage} | {reason} | {count} |")
    lines += ["", "## Sources", "", "| source | dataset | rows | kept | dropped at ingest |",
              "| --- | --- | --- | --- | --- |"]
    for source in report["sources"]:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in source["reasons"].items())
        lines.append(f"| `{source['spec']}` | {source['dataset']} | {source['rows']} | "
                     f"{source['kept']} | {reasons or '-'} |")
    contamination, figures = report["contamination"], report["decontamination"]
    if figures:
        lines += ["", "## Decontamination", "",
                  f"{figures['dropped']} questions dropped; {figures['boilerplate_only']} of them share "
                  "only boilerplate n-grams (held by many pool questions; `--ignore-boilerplate` "
                  f"keeps those). s1's rule (whitespace words) would drop {figures['s1_whitespace_dropped']}: "
                  f"{figures['only_this_rule']} drops are this rule's alone, "
                  f"{figures['only_s1_whitespace']} s1's alone."]
    if contamination:
        lines += ["",
                  "| id | eval set | eval id | overlap | shared (boilerplate) | n-gram |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for row in contamination[:50]:
            lines.append(f"| {row['id']} | {row['eval_set']} | {row['eval_id']} | "
                         f"{row['overlap']:.0%} | {row['shared_ngrams']} ({row['boilerplate_ngrams']}) "
                         f"| {row['ngram']} |")
        if len(contamination) > 50:
            lines.append(f"\n({len(contamination) - 50} more in report.json)")
    lines += ["", "## Domains", "", "| domain | candidates | selected |", "| --- | --- | --- |"]
    for domain, count in report["domains"]["candidates"].items():
        lines.append(f"| {domain} | {count} | {report['domains']['selected'].get(domain, 0)} |")
    lengths = report["thinking_tokens"]
    lines += ["", "## Trace length (thinking tokens)", "",
              f"- candidates: {lengths['candidates']}", f"- selected: {lengths['selected']}", ""]
    lines += [f"![{name}]({name})" for name in report["plots"]]
    return "\n".join(lines) + "\n"


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


def html(report: dict, out: Path) -> str:
    """report.md as a self-contained HTML page (plots inlined), for KFP's HTML artifact viewer."""
    import base64
    import html as escape

    body = []
    for line in markdown(report).splitlines():
        if line.startswith("![") and line.endswith(")"):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode((out / name).read_bytes()).decode()
            body.append(f'<img alt="{escape.escape(name)}" src="data:image/png;base64,{data}">')
        elif line.startswith("| ---"):
            continue
        elif line.startswith("|"):
            cells = "".join(f"<td>{escape.escape(c.strip())}</td>" for c in line.strip("|").split("|"))
            body.append(f"<tr>{cells}</tr>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{escape.escape(line.lstrip('# '))}</h{level}>")
        elif line.strip():
            body.append(f"<p>{escape.escape(line)}</p>")
    page, in_table = [], False
    for item in body:  # wrap consecutive rows in one table
        if item.startswith("<tr>") and not in_table:
            page.append("<table border=1 cellspacing=0 cellpadding=3>")
            in_table = True
        if not item.startswith("<tr>") and in_table:
            page.append("</table>")
            in_table = False
        page.append(item)
    if in_table:
        page.append("</table>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Curation report</title></head>"
            "<body style='font-family: sans-serif'>" + "\n".join(page) + "</body></html>\n")


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
