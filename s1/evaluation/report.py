"""The evaluation report: the scaling plot, and the same tables as Markdown and as HTML (the
HTML embeds the plot, so it is one self-contained file for KFP's HTML viewer)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from s1.evaluation.benchmarks import registry


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]


@cache
def baselines() -> dict[str, Any]:
    """Published accuracies (%) from the packaged ``baselines.yaml``."""
    return yaml.safe_load(resources.files("s1.evaluation").joinpath("baselines.yaml").read_text())


def write_reports(metrics: dict[str, Any], out: Path) -> None:
    """``scaling.png``, ``report.md`` and ``report.html`` in ``out``."""
    plot = out / "scaling.png"
    plot_scaling(metrics, plot)
    tables = report_tables(metrics)
    title = f"s1 evaluation: {metrics['model_name']}"
    (out / "report.md").write_text(_markdown(title, metrics, tables))
    (out / "report.html").write_text(_html(title, metrics, tables, plot.read_bytes()))


def plot_scaling(metrics: dict[str, Any], path: Path) -> None:
    """Accuracy against mean thinking tokens, one panel per benchmark, points labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benchmarks = metrics["benchmarks"]
    fig, axes = plt.subplots(1, len(benchmarks), figsize=(4.5 * len(benchmarks), 3.6),
                             squeeze=False)
    for axis, summary in zip(axes[0], benchmarks.values()):
        points = sorted(summary["points"], key=lambda p: p["mean_thinking_tokens"])
        xs = [p["mean_thinking_tokens"] for p in points]
        ys = [100 * p["accuracy"] for p in points]
        axis.plot(xs, ys, marker="o")
        for x, y, point in zip(xs, ys, points):
            axis.annotate(point["budget"], (x, y), textcoords="offset points", xytext=(4, 4),
                          fontsize=7)
        axis.set_title(summary["title"])
        axis.set_xlabel("mean thinking tokens")
        axis.set_ylabel("accuracy (%)")
        axis.set_ylim(-2, 102)
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report_tables(metrics: dict[str, Any]) -> list[Table]:
    """Per-benchmark budget tables, s1's Control/Scaling/Performance, and the baselines."""
    tables = []
    for name, summary in metrics["benchmarks"].items():
        rows = [[p["budget"], f"{p['mean_thinking_tokens']:.1f}", str(p["max_thinking_tokens_used"]),
                 f"{100 * p['accuracy']:.1f}", f"{100 * p['pass@1']:.1f}", str(p["n"]),
                 f"{100 * p['control']:.0f}", _reasons(p["reasons"])]
                for p in summary["points"]]
        tables.append(Table(f"{summary['title']} ({name}, {summary['questions']} questions)",
                            ["budget", "mean thinking tokens", "max thinking tokens", "accuracy %",
                             "pass@1 %", "samples", "control %", "wrong because"], rows))
    tables.append(Table(
        "Test-time scaling (s1 §3.2)",
        ["benchmark", "control %", "scaling (points / 1K tokens)", "performance %"],
        [[s["title"], f"{100 * s['control']:.0f}", _number(s["scaling"], "{:.2f}"),
          _number(s["performance"], "{:.1f}", 100)] for s in metrics["benchmarks"].values()],
    ))
    tables.append(baseline_table(metrics))
    return tables


def baseline_table(metrics: dict[str, Any]) -> Table:
    """This run's best accuracy next to the published figures, on the benchmarks either has."""
    published = baselines()
    names = list(metrics["benchmarks"])
    names += [n for m in published["models"] for n in m["scores"] if n not in names]
    names = list(dict.fromkeys(names))
    titles = [metrics["benchmarks"][n]["title"] if n in metrics["benchmarks"]
              else registry()[n].display_name if n in registry() else n for n in names]
    run = ["this run (best budget)"] + [
        _number(metrics["benchmarks"][n]["performance"], "{:.1f}", 100)
        if n in metrics["benchmarks"] else "–" for n in names]
    rows = [run] + [[m["name"]] + [_number(m["scores"].get(n), "{:.1f}") for n in names]
                    for m in published["models"]]
    return Table(f"Baselines (accuracy %; published: {published['source']})",
                 ["model"] + titles, rows)


def _reasons(counts: dict[str, int]) -> str:
    wrong = {reason: n for reason, n in counts.items() if n and reason != "correct"}
    return ", ".join(f"{reason} {n}" for reason, n in wrong.items()) or "–"


def _number(value: float | None, fmt: str, scale: float = 1) -> str:
    return "–" if value is None else fmt.format(scale * value)


def _settings(metrics: dict[str, Any]) -> str:
    return (f"budgets {', '.join(metrics['budgets'])}; {metrics['samples_per_question']} "
            f"sample(s) per question at temperature {metrics['temperature']}; minimum thinking "
            f"tokens {metrics['min_thinking_tokens']}")


def _markdown(title: str, metrics: dict[str, Any], tables: list[Table]) -> str:
    lines = [f"# {title}", "", _settings(metrics), "", "![scaling](scaling.png)", ""]
    for table in tables:
        lines += [f"## {table.title}", "", "| " + " | ".join(table.header) + " |",
                  "|" + " --- |" * len(table.header)]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines.append("")
    return "\n".join(lines)


def _html(title: str, metrics: dict[str, Any], tables: list[Table], png: bytes) -> str:
    esc = html.escape
    parts = [
        "<!doctype html>", '<html><head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>",
        f"<h1>{esc(title)}</h1>", f"<p>{esc(_settings(metrics))}</p>",
        f'<img alt="accuracy against thinking tokens" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">',
    ]
    for table in tables:
        parts.append(f"<h2>{esc(table.title)}</h2><table><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in table.header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
                  for row in table.rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
