import pyarrow as pa

from tasks.audit.config import AuditConfig
from tasks.audit.corpus import count_quarantine, count_shard
from tasks.audit.corpus_report import AuditReport, build_report
from tasks.audit.report import make_plots, render_html, render_markdown

CFG = AuditConfig(axes=["gender"], npmi_min_count=2)


def test_markdown_html_and_plots(make_corpus, tmp_path):
    quarantine = pa.table({"id": ["q1", "q2", "q3"], "text": ["She x", "She y", "He z"], "step": ["blocklist"] * 3, "reason": ["r"] * 3})
    report = build_report(count_shard(make_corpus(female_pos=0.8), CFG), count_quarantine(quarantine, CFG), CFG)
    md = render_markdown(report)
    assert "# Corpus bias audit" in md and "| gender | female | 200 |" in md and "## Filter impact" in md
    assert "FAILED" in md and "## Words most associated" in md
    plots = make_plots(report, tmp_path)
    assert [p.name for p in plots] == ["label_rate_by_group.png", "filter_impact.png", "npmi_top_words.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in plots)
    page = render_html(report, plots)  # self-contained: images inline, real tables, no Markdown
    assert page.count('<img src="data:image/png;base64,') == 3 and "gender/female" in page
    assert "<table>" in page and "<th>gap [CI]</th>" in page and "<pre>" not in page and "| gate |" not in page
    assert AuditReport.model_validate_json(report.model_dump_json()) == report
