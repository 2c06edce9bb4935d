"""Human-readable renderings of an `AuditReport`: Markdown, HTML and matplotlib PNG plots."""
from __future__ import annotations

import html
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tasks.audit.corpus_report import AuditReport  # noqa: E402


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


def render_markdown(report: AuditReport, max_rows: int = 40) -> str:
    """Markdown report: headline, gates, largest label-rate gaps, filter impact, top nPMI words."""
    out = [
        "# Corpus bias audit",
        f"{report.total_docs} documents ({report.labelled_docs} labelled; labels "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(report.label_docs.items())) or 'none'}); "
        f"{report.groups_present} identity groups present; intervals at {report.confidence:.0%}.",
        "",
        "## Gates",
        _table(["gate", "metric", "value", "threshold", "passed", "action"],
               [[g.name, g.metric, f"{g.value:.3f}", f"{g.threshold:g}", "yes" if g.passed else "**no**", g.action]
                for g in report.gates]),
    ]
    out += [f"- {g.message}" for g in report.gates]
    out += ["", "## Label rates by group (gaps whose interval excludes 0 first, largest first)",
            _table(["axis", "group", "docs", "share", "label", "rate [CI]", "rest", "gap [CI]", "excludes 0"],
                   [[r.axis, r.group, str(r.docs), f"{r.share:.3f}", str(r.label),
                     f"{_fmt(r.label_rate)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]", _fmt(r.rest_rate),
                     f"{_fmt(r.gap, True)} [{_fmt(r.gap_ci_low, True)}, {_fmt(r.gap_ci_high, True)}]",
                     "yes" if r.gap_excludes_zero else ""] for r in _gap_rows(report, max_rows)])]
    unlabelled = [r for r in report.groups if r.gap is None]
    if unlabelled:
        out += ["", "Groups without label rates: " + ", ".join(f"{r.axis}/{r.group} ({r.docs})" for r in unlabelled)]
    if report.filter_impact:
        top = sorted(report.filter_impact, key=lambda r: -r.ratio)[:max_rows]
        out += ["", "## Filter impact (largest ratios first)",
                _table(["step", "axis", "group", "removed", "group docs", "removed rate", "overall rate", "ratio"],
                       [[r.step, r.axis, r.group, str(r.removed), str(r.group_docs), f"{r.removed_rate:.3f}",
                         f"{r.overall_removed_rate:.3f}", f"{r.ratio:.2f}"] for r in top])]
    if report.npmi:
        by_group: dict[str, list[str]] = {}
        for r in report.npmi:
            by_group.setdefault(f"{r.axis}/{r.group}", []).append(f"{r.word} ({r.npmi:.2f})")
        out += ["", "## Words most associated with each group (nPMI)",
                _table(["group", "top words"], [[k, ", ".join(v)] for k, v in sorted(by_group.items())])]
    if report.groups_absent:
        out += ["", f"Groups never mentioned: {', '.join(report.groups_absent)}"]
    return "\n".join(out) + "\n"


def render_html(report: AuditReport, plot_files: list[Path], html_dir: Path | None = None) -> str:
    """An HTML page: gate messages, the plots and the Markdown report in a <pre> block.

    Images are linked relative to `html_dir` (the folder report.html is written to); without it,
    by file name, so the PNGs must then sit next to report.html.
    """
    def src(p: Path) -> str:
        return Path(p).relative_to(html_dir).as_posix() if html_dir is not None else Path(p).name

    images = "\n".join(f'<figure><img src="{html.escape(src(p))}" alt="{html.escape(Path(p).stem)}">'
                       f"</figure>" for p in plot_files)
    gates = "".join(f"<li class=\"{'ok' if g.passed else 'bad'}\">{html.escape(g.message)}</li>" for g in report.gates)
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Corpus bias audit</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}.bad{color:#b00}.ok{color:#060}"
        "pre{white-space:pre-wrap;font-size:12px}img{max-width:100%}</style></head><body>"
        f"<h1>Corpus bias audit</h1><ul>{gates}</ul>{images}"
        f"<pre>{html.escape(render_markdown(report))}</pre></body></html>\n"
    )


def make_plots(report: AuditReport, out_dir: Path, max_groups: int = 30) -> list[Path]:
    """Write PNGs to `out_dir`: label rate per group with CIs (one label), filter-impact ratios,
    top nPMI words of the largest groups. Returns the paths written (plots without data skipped).

    CJK words show as boxes unless a CJK font is installed (matplotlib's missing-glyph warnings
    are silenced here rather than repeated for every character)."""
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
        ax.errorbar([r.label_rate for r in rows], list(y),
                    xerr=[[r.label_rate - r.ci_low for r in rows], [r.ci_high - r.label_rate for r in rows]],
                    fmt="o", color="C0")
        for i, r in enumerate(rows):
            if r.gap_excludes_zero:
                ax.plot(r.label_rate, i, "o", color="C3")
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
