"""Human-readable renderings of an `AuditReport`: Markdown, HTML and matplotlib PNG plots."""

from __future__ import annotations

import base64
import html
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tasks.audit.corpus_report import AuditReport
from tasks.common.plotting import use_cjk_fallback


def _fmt(x: float | None, sign: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _gap_rows(report: AuditReport, limit: int) -> list:
    labelled = [r for r in report.groups if r.gap is not None]
    return sorted(labelled, key=lambda r: (not r.gap_excludes_zero, -abs(r.gap)))[:limit]


def _sections(report: AuditReport, max_rows: int) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """The report's sections as (title, table header, table rows, lines after the table)."""
    sections = [
        (
            "Gates",
            ["gate", "metric", "value", "threshold", "passed", "action"],
            [[g.name, g.metric, f"{g.value:.3f}", f"{g.threshold:g}", "yes" if g.passed else "no", g.action] for g in report.gates],
            [g.message for g in report.gates],
        )
    ]
    unlabelled = [r for r in report.groups if r.gap is None]
    sections.append(
        (
            "Label rates by group (gaps whose interval excludes 0 first, largest first)",
            ["axis", "group", "docs", "share", "label", "rate [CI]", "rest", "gap [CI]", "excludes 0"],
            [
                [
                    r.axis,
                    r.group,
                    str(r.docs),
                    f"{r.share:.3f}",
                    str(r.label),
                    f"{_fmt(r.label_rate)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
                    _fmt(r.rest_rate),
                    f"{_fmt(r.gap, True)} [{_fmt(r.gap_ci_low, True)}, {_fmt(r.gap_ci_high, True)}]",
                    "yes" if r.gap_excludes_zero else "",
                ]
                for r in _gap_rows(report, max_rows)
            ],
            ["Groups without label rates: " + ", ".join(f"{r.axis}/{r.group} ({r.docs})" for r in unlabelled)] if unlabelled else [],
        )
    )
    if report.filter_impact:
        top = sorted(report.filter_impact, key=lambda r: -r.ratio)[:max_rows]
        sections.append(
            (
                "Filter impact (largest ratios first)",
                ["step", "axis", "group", "removed", "group docs", "removed rate", "overall rate", "ratio"],
                [
                    [r.step, r.axis, r.group, str(r.removed), str(r.group_docs), f"{r.removed_rate:.3f}", f"{r.overall_removed_rate:.3f}", f"{r.ratio:.2f}"]
                    for r in top
                ],
                [],
            )
        )
    if report.npmi:
        by_group: dict[str, list[str]] = {}
        for r in report.npmi:
            by_group.setdefault(f"{r.axis}/{r.group}", []).append(f"{r.word} ({r.npmi:.2f})")
        sections.append(("Words most associated with each group (nPMI)", ["group", "top words"], [[k, ", ".join(v)] for k, v in sorted(by_group.items())], []))
    return sections


def _headline(report: AuditReport) -> str:
    return (
        f"{report.total_docs} documents ({report.labelled_docs} labelled; labels "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(report.label_docs.items())) or 'none'}); "
        f"{report.groups_present} identity groups present; intervals at {report.confidence:.0%}."
    )


def render_markdown(report: AuditReport, max_rows: int = 40) -> str:
    """Markdown report: headline, gates, largest label-rate gaps, filter impact, top nPMI words."""
    out = ["# Corpus bias audit", _headline(report)]
    for title, header, rows, after in _sections(report, max_rows):
        if title == "Gates":
            rows = [[*r[:4], r[4] if r[4] == "yes" else "**no**", r[5]] for r in rows]
        out += ["", f"## {title}", "", _table(header, rows)] if rows else ["", f"## {title}", "", "_none_"]
        if after:
            out += [""] + ([f"- {line}" for line in after] if title == "Gates" else after)
    if report.groups_absent:
        out += ["", f"Groups never mentioned: {', '.join(report.groups_absent)}"]
    return "\n".join(out) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: AuditReport, plot_files: list[Path], max_rows: int = 40) -> str:
    """A self-contained HTML page (opens anywhere, e.g. MLflow's artifact viewer): headline, gate
    verdicts, the plots embedded as base64 PNGs and every section as a real HTML table."""
    images = "\n".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(Path(p).read_bytes()).decode()}" '
        f'alt="{html.escape(Path(p).stem)}"><figcaption>{html.escape(Path(p).stem.replace("_", " "))}</figcaption></figure>'
        for p in plot_files
    )
    gates = "".join(f'<li class="{"ok" if g.passed else "bad"}">{html.escape(g.message)}</li>' for g in report.gates)
    parts = []
    for title, header, rows, after in _sections(report, max_rows):
        if title == "Gates":
            continue
        parts.append(
            f"<h2>{html.escape(title)}</h2>" + (_html_table(header, rows) if rows else "<p>none</p>") + "".join(f"<p>{html.escape(line)}</p>" for line in after)
        )
    if report.groups_absent:
        parts.append(f"<p>Groups never mentioned: {html.escape(', '.join(report.groups_absent))}</p>")
    gate_header, gate_rows, _ = _sections(report, max_rows)[0][1:]
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Corpus bias audit</title>'
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0 1em}.bad{color:#b00}.ok{color:#060}"
        "table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left}th{background:#f3f3f3}img{max-width:100%}figcaption{font-size:12px;color:#555}</style>"
        "</head><body>"
        f"<h1>Corpus bias audit</h1><p>{html.escape(_headline(report))}</p>"
        f"<h2>Gates</h2>{_html_table(gate_header, gate_rows)}<ul>{gates}</ul>{images}{''.join(parts)}"
        "</body></html>\n"
    )


def make_plots(report: AuditReport, out_dir: Path, max_groups: int = 30) -> list[Path]:
    """Write PNGs to `out_dir`: label rate per group with CIs (one label), filter-impact ratios,
    top nPMI words of the largest groups. Returns the paths written (plots without data skipped).

    Labels use DejaVu Sans with a CJK font as fallback (`use_cjk_fallback`); without an installed
    CJK font such words show as boxes (the missing-glyph warnings are silenced, not repeated)."""
    use_cjk_fallback()
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rated = [r for r in report.groups if r.label_rate is not None]
    if rated:
        label = sorted({r.label for r in rated})[-1]
        rows = sorted([r for r in rated if r.label == label], key=lambda r: -r.docs)[:max_groups]
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
        y = range(len(rows))
        ax.errorbar(
            [r.label_rate for r in rows], list(y), xerr=[[r.label_rate - r.ci_low for r in rows], [r.ci_high - r.label_rate for r in rows]], fmt="o", color="C0"
        )
        for i, r in enumerate(rows):
            if r.gap_excludes_zero:  # above the error bars and the blue points
                ax.plot(r.label_rate, i, "o", color="C3", zorder=5)
        overall = report.label_docs.get(label, 0) / report.labelled_docs if report.labelled_docs else 0
        ax.axvline(overall, color="grey", linestyle="--", label="corpus rate")
        ax.set_yticks(list(y), [f"{r.axis}/{r.group} ({r.docs})" for r in rows], fontsize=7)
        ax.set_xlabel(f"rate of label '{label}' (red: gap interval excludes 0)")
        ax.legend(loc="lower right")
        fig.tight_layout()
        written.append(out_dir / "label_rate_by_group.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    if report.filter_impact:
        rows = sorted(report.filter_impact, key=lambda r: -r.ratio)[:max_groups]
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
        ax.barh(range(len(rows)), [r.ratio for r in rows], color="C1")
        ax.axvline(1.0, color="grey", linestyle="--")
        ax.set_yticks(range(len(rows)), [f"{r.step}: {r.axis}/{r.group}" for r in rows], fontsize=7)
        ax.set_xlabel("group removal rate / overall removal rate")
        fig.tight_layout()
        written.append(out_dir / "filter_impact.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    if report.npmi:
        sizes = {(r.axis, r.group): r.docs for r in report.groups}
        keys = sorted({(r.axis, r.group) for r in report.npmi}, key=lambda k: -sizes.get(k, 0))[:4]
        fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.5), squeeze=False)
        for ax, key in zip(axes[0], keys):
            rows = [r for r in report.npmi if (r.axis, r.group) == key]
            ax.barh(range(len(rows)), [r.npmi for r in rows], color="C2")
            ax.set_yticks(range(len(rows)), [r.word for r in rows], fontsize=7)
            ax.invert_yaxis()
            ax.set_title(f"{key[0]}/{key[1]}", fontsize=8)
        fig.tight_layout()
        written.append(out_dir / "npmi_top_words.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    return written
