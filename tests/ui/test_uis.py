"""What a person checks in the two UIs after `make run` and `make ui`, in a real (headless) chromium
that may reach only loopback hosts. Screenshots: `workspace/ui-screenshots/`."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest

from corpusmill import links

PIPELINE = "demo-reviews"  # the pipeline the fixture runs (tests/ui/conftest.py)
pytestmark = [pytest.mark.ui, pytest.mark.integration, pytest.mark.slow]

STAGES = ("ingest", "clean", "audit", "tokenize", "train", "evaluate", "register")
MODEL = f"{PIPELINE}-sentiment"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def page(browser_context):
    page = browser_context.new_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def flow_run_id(servers: dict) -> str:
    """The id of the one `corpus-to-model` run of the pipeline (via the Prefect API)."""
    runs = httpx.post(
        f"{servers['prefect']}/api/flow_runs/filter",
        timeout=30,
        json={"flow_runs": {"name": {"like_": f"{PIPELINE}-2"}}, "flows": {"name": {"any_": ["corpus-to-model"]}}},
    ).json()
    assert len(runs) == 1, runs
    assert set(runs[0]["tags"]) >= {"corpusmill", PIPELINE}
    return runs[0]["id"]


def _see(page, text: str | re.Pattern, exact: bool = True) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text(text, exact=exact).first).to_be_visible(timeout=TIMEOUT_MS)


def test_prefect_runs_page_renders_the_runs(page, servers: dict, screenshots: Path) -> None:
    page.goto(f"{servers['prefect']}/runs")
    _see(page, re.compile(rf"^{PIPELINE}-\d{{8}}-\d{{6}}$"))  # the run is named <pipeline>-<UTC time>
    assert "/v2" not in page.url, "the classic UI is served (the /v2 UI loads an outside analytics script)"
    page.screenshot(path=screenshots / "prefect-runs.png")


def test_corpus_to_model_run_lists_seven_stage_subflows_and_artifacts(page, servers: dict, flow_run_id: str, screenshots: Path) -> None:
    page.goto(links.flow_run_url(flow_run_id, servers["prefect"]))
    page.get_by_role("tablist").get_by_text("Subflow Runs", exact=True).click()
    for stage in STAGES:
        _see(page, f"{PIPELINE}-{stage}")
    page.screenshot(path=screenshots / "prefect-flow-run-subflows.png", full_page=True)
    page.get_by_role("tablist").get_by_text("Artifacts", exact=True).click()
    for key in (f"{PIPELINE}-summary", f"{MODEL}-mlflow-run", f"{MODEL}-model-version"):
        _see(page, key)
    page.screenshot(path=screenshots / "prefect-flow-run-artifacts.png", full_page=True)


def test_mlflow_experiment_opens_on_its_runs(page, servers: dict, screenshots: Path) -> None:
    from mlflow import MlflowClient

    experiment = MlflowClient(servers["tracking_uri"]).get_experiment_by_name(PIPELINE)
    page.goto(links.experiment_url(experiment.experiment_id, servers["mlflow"]))  # the link corpusmill prints
    _see(page, MODEL)
    _see(page, re.compile(rf"^{PIPELINE}/tokens"), exact=False)  # the dataset input, not "Dataset: -"
    assert "/runs" in page.url and "overview" not in page.url, page.url
    page.screenshot(path=screenshots / "mlflow-experiment-runs.png")


def test_mlflow_experiment_list_click_opens_the_runs_in_a_new_browser(browser_context, servers: dict, outside_requests: list[str], screenshots: Path) -> None:
    """A person with a fresh browser who clicks the experiment in MLflow's own list lands on its
    runs, not on the GenAI "Usage" view (corpusmill/mlflow_app.py presets the view)."""
    context = browser_context.browser.new_context(viewport={"width": 1400, "height": 1000})  # empty local storage

    def route(route_, request) -> None:
        if (urlsplit(request.url).hostname or "") in ("127.0.0.1", "localhost", "::1") or request.url.startswith(("data:", "blob:")):
            route_.continue_()
        else:
            outside_requests.append(request.url)
            route_.abort()

    context.route("**/*", route)
    page = context.new_page()
    try:
        page.goto(f"{servers['mlflow']}/#/experiments")
        page.get_by_role("link", name=PIPELINE, exact=True).first.click()
        _see(page, MODEL)
        assert "overview" not in page.url and "workflowType=genai" not in page.url, page.url
        page.screenshot(path=screenshots / "mlflow-experiment-from-list.png")
    finally:
        context.close()


def test_mlflow_run_has_a_description_dataset_and_group_table(page, servers: dict, screenshots: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(servers["tracking_uri"])
    version = client.get_model_version(MODEL, "1")
    run = client.get_run(version.run_id)
    page.goto(links.run_url(run.info.experiment_id, run.info.run_id, servers["mlflow"]))
    _see(page, "trained by corpusmill on", exact=False)  # the run description (mlflow.note.content)
    _see(page, re.compile(rf"^{PIPELINE}/tokens \("), exact=False)  # the dataset input
    page.screenshot(path=screenshots / "mlflow-run-overview.png")
    assert "evaluation/group_metrics.json" in {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}


def test_model_version_page_shows_the_card_with_group_metrics_and_gate_verdict(page, servers: dict, ui_workspace: dict, screenshots: Path) -> None:
    report = json.loads((ui_workspace["ws"] / "data" / PIPELINE / "evaluate" / "sentiment" / "report.json").read_text())
    page.goto(links.model_version_url(MODEL, "1", servers["mlflow"]))
    _see(page, f"Model card: {MODEL} v1")
    _see(page, "Metrics per group")
    overall = next(r for r in report["model_audit"]["records"] if r["axis"] == "overall" and r["metric"] == "accuracy")
    _see(page, re.compile(rf"^{overall['value']:.3f} \["), exact=False)  # the per-group table, from `records`
    _see(page, report["fairness_reason"])  # the gate row keeps its verdict text
    page.get_by_text("Metrics per group").first.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "mlflow-model-version-card.png")


def test_audit_report_html_is_self_contained(page, ui_workspace: dict, screenshots: Path) -> None:
    html = ui_workspace["ws"] / "data" / PIPELINE / "audit" / "report.html"
    page.goto(html.as_uri())
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths and all(w > 0 for w in widths), "every plot is embedded and decodes"
    assert page.locator("table").count() >= 2 and page.locator("pre").count() == 0
    page.screenshot(path=screenshots / "audit-report-html.png", full_page=True)


def _ink(text: str, families: list[str] | None = None) -> np.ndarray:
    """`text` drawn by matplotlib (with `families`, else the configured rcParams), as a grey array."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6, 0.8), dpi=100)
    fig.text(0.05, 0.2, text, fontsize=30, **({"family": families} if families else {}))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(buffer.getvalue()))[..., :3].mean(axis=2)


def test_audit_plot_cjk_labels_are_not_boxes(ui_workspace: dict, screenshots: Path) -> None:
    from tasks.common.plotting import use_cjk_fallback

    families = use_cjk_fallback()  # what the audit and evaluation plots call before drawing
    assert len(families) > 1, "no CJK font installed: .ci/run installs fonts-wqy-zenhei"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Glyph ... missing from font(s) DejaVu Sans": on purpose
        box_a, box_b = _ink("男", ["DejaVu Sans"]), _ink("女", ["DejaVu Sans"])  # no glyphs: the same box twice
    assert np.abs(box_a - box_b).max() < 1e-6
    man, woman = _ink("男"), _ink("女")  # with the configured defaults, as the plots draw their labels
    assert np.abs(man - woman).mean() > 0.01, "two different CJK words must not render as the same box"
    assert np.abs(man - box_a).mean() > 0.01, "a CJK word must not render as the missing-glyph box"
    plot = ui_workspace["ws"] / "data" / PIPELINE / "audit" / "plots" / "label_rate_by_group.png"
    assert plot.is_file()
    (screenshots / "audit-label-rate-by-group.png").write_bytes(plot.read_bytes())


def test_no_page_requested_an_outside_host(page, outside_requests: list[str]) -> None:
    """Runs last in this module: every page above was loaded with outside hosts blocked."""
    assert outside_requests == []
