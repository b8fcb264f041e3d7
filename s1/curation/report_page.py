"""The curation report as a page: one list of sections, rendered as Markdown (report.md, KFP's
Markdown viewer) and as self-contained HTML (report.html, KFP's HTML viewer: plots inlined).

Every section is plain text and tables built from report.json, so neither rendering shows
markup or Python reprs of the other; an empty table becomes a sentence saying so.
"""

from __future__ import annotations

import base64
import html as escape
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Bar:
    """A share drawn as a bar in HTML, written as a percentage in Markdown."""

    fraction: float

    def __str__(self) -> str:
        return f"{100 * self.fraction:.1f}%"


Cell = str | int | float | Bar


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    empty: str = "None."  # said instead of an empty table


@dataclass(frozen=True)
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file in the output folder, alt)


def sections(report: dict) -> list[Section]:
    """What the report says, in reading order: the funnel first, details after."""
    config = report["config"]
    pool = max(report["pool_rows"], 1)
    parts = [Section("Stages", [
        f"Selected {report['selected']} of {report['pool_rows']} pool rows (target {config['n']}, "
        f"seed {config['seed']}) in {report['seconds']:.1f} s."],
        [Table(("stage", "in", "out", "dropped", "kept of the pool", "seconds"),
               [(s["stage"], s["in"], s["out"], s["dropped"], Bar(s["out"] / pool), round(s["seconds"], 2))
                for s in report["stages"]])])]
    parts.append(Section("Drop reasons", tables=[Table(
        ("stage", "reason", "count"),
        [(stage, reason, count) for stage, reasons in report["drop_reasons"].items()
         for reason, count in reasons.items()],
        empty="Nothing was dropped.")]))
    parts += _model_sections(report["models"])
    parts.append(Section("Sources", tables=[Table(
        ("source", "dataset", "rows", "kept", "dropped at ingest"),
        [(s["spec"], s["dataset"], s["rows"], s["kept"],
          ", ".join(f"{reason}: {count}" for reason, count in s["reasons"].items()) or "none")
         for s in report["sources"]])]))
    parts.append(_decontamination(report))
    domains = report["domains"]
    parts.append(Section("Domains", tables=[Table(
        ("domain", "candidates", "selected"),
        [(domain, count, domains["selected"].get(domain, 0)) for domain, count in domains["candidates"].items()],
        empty="No candidates.")], images=[(report["plots"][1], "domain shares: selection vs. candidates")]))
    lengths = report["thinking_tokens"]
    columns = ("count", "min", "median", "mean", "max", "total")
    parts.append(Section("Trace length (thinking tokens)", tables=[Table(
        ("set", *columns),
        [(name, *(summary.get(c, "–") for c in columns)) for name, summary in lengths.items()])],
        images=[(report["plots"][0], "trace length histogram: selection vs. candidates")]))
    return parts


def _model_sections(models: dict) -> list[Section]:
    parts = []
    attempts = models.get("attempts") or {}
    if attempts:
        judge = models.get("judge") or {}
        text = [f"The judge was needed for {judge.get('judged', 0)} of {judge.get('attempts', 0)} "
                f"answers ({100 * judge.get('share', 0):.1f}%, the teacher's included); the rest were "
                "decided by math-verify, cut off at max_tokens, or had no answer to grade."]
        sampled = max(s.get("not_attempted", 0) for s in attempts.values())
        if sampled:
            text.append(f"{sampled} questions were not attempted (attempt_sample): they pass this "
                        "filter untested.")
        rows = [(model, s["solved"] + s["unsolved"] + sum(s["ungraded"].values()), s["solved"], s["unsolved"],
                 s["graded_by"].get("math-verify", 0), s["graded_by"].get("judge", 0),
                 s["graded_by"].get("cut off at max_tokens", 0),
                 ", ".join(f"{reason}: {count}" for reason, count in s["ungraded"].items()) or "none",
                 s["call_errors"])
                for model, s in attempts.items()]
        parts.append(Section("Difficulty", text, [Table(
            ("attempt model", "attempts", "solved", "unsolved", "by math-verify", "by the judge",
             "cut off", "not graded", "call errors"), rows)]))
    calls = models.get("calls") or []
    if calls:
        loaded = models.get("local_models_loaded") or []
        text = ([f"Local models loaded, one at a time: {', '.join(loaded)}."] if loaded else [])
        text += [f"First failure of {c['step']}: {c['first_error']}" for c in calls if c["first_error"]]
        parts.append(Section("Model calls", text, [Table(
            ("role", "step", "model", "prompts", "cached", "calls", "failed", "seconds"),
            [(c["role"], c["step"], c["model"], c["prompts"], c["cached"], c["calls"], c["failed"],
              round(c["seconds"], 1)) for c in calls])]))
    return parts


def _decontamination(report: dict) -> Section:
    figures, rows = report["decontamination"], report["contamination"]
    if not figures:
        return Section("Decontamination", ["No evaluation sets were given: nothing was checked."])
    text = [f"{figures['dropped']} questions dropped; {figures['boilerplate_only']} of them share only "
            "boilerplate n-grams (held by many pool questions; --ignore-boilerplate keeps those). "
            f"s1's rule (whitespace words) would drop {figures['s1_whitespace_dropped']}: "
            f"{figures['only_this_rule']} drops are this rule's alone, {figures['only_s1_whitespace']} s1's alone."]
    if len(rows) > 50:
        text.append(f"The first 50 of {len(rows)} are listed; report.json has all of them.")
    return Section("Decontamination", text, [Table(
        ("id", "eval set", "eval id", "overlap", "shared (boilerplate)", "n-gram"),
        [(r["id"], r["eval_set"], r["eval_id"], f"{r['overlap']:.0%}",
          f"{r['shared_ngrams']} ({r['boilerplate_ngrams']})", r["ngram"]) for r in rows[:50]],
        empty="No pool question shares an n-gram with an evaluation question.")])


def markdown(report: dict) -> str:
    lines = ["# Curation report", ""]
    for section in sections(report):
        lines += [f"## {section.title}", ""]
        lines += [paragraph for text in section.text for paragraph in (text, "")]
        for table in section.tables:
            if not table.rows:
                lines += [table.empty, ""]
                continue
            lines += ["| " + " | ".join(table.header) + " |", "|" + " --- |" * len(table.header)]
            lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
        lines += [f"![{alt}]({name})" for name, alt in section.images]
        if section.images:
            lines.append("")
    return "\n".join(lines)


def _markdown_cell(cell: Cell) -> str:
    return str(cell).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 3px 9px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.bar { min-width: 11em; } .bar span { display: inline-block; height: 0.8em; background: #2f81f7;
       margin-right: 0.5em; vertical-align: middle; }
td { max-width: 32em; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1em; }
"""


def html(report: dict, folder: Path) -> str:
    """The page, self-contained: the plots in `folder` are embedded as data URIs."""
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Curation report</title>", f"<style>{STYLE}</style></head><body>",
             "<h1>Curation report</h1>"]
    for section in sections(report):
        parts.append(f"<h2>{escape.escape(section.title)}</h2>")
        parts += [f"<p>{escape.escape(text)}</p>" for text in section.text]
        for table in section.tables:
            parts.append(_html_table(table))
        for name, alt in section.images:
            data = base64.b64encode((folder / name).read_bytes()).decode()
            parts.append(f'<img alt="{escape.escape(alt)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_table(table: Table) -> str:
    if not table.rows:
        return f"<p>{escape.escape(table.empty)}</p>"
    head = "".join(f"<th>{escape.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(cell: Cell) -> str:
    if isinstance(cell, Bar):
        width = max(0.0, min(1.0, cell.fraction)) * 8
        return f'<td class="bar"><span style="width:{width:.2f}em"></span>{cell}</td>'
    kind = ' class="number"' if isinstance(cell, (int, float)) else ""
    return f"<td{kind}>{escape.escape(str(cell))}</td>"
