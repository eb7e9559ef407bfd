"""The offline plots page: `review-lstm plots` output rendered by headless Chromium, with no network."""

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO_ROOT, copy_project
from review_lstm.cli import main

PLOT_IDS = ("Loss_per_epoch", "Validation_macro-F1_per_epoch", "Test_confusion_matrix")
IMAGES = ("reports/loss.png", "reports/confusion.png")
MARK_ELEMENTS = {"path", "rect", "line", "text", "circle"}


def require_tool(found: bool, description: str) -> None:
    """Fail under CI=true, where .ci/run installs the tool, and skip elsewhere."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{description} is missing; .ci/run installs it")
    pytest.skip(f"{description} is missing; see .ci/run for how to install it")


class PlotMarks(HTMLParser):
    """Count the <svg> and <canvas> elements and the SVG marks inside each Vega-Embed container."""

    def __init__(self):
        super().__init__()
        self.current: str | None = None
        self.div_depth = 0
        self.surfaces: dict[str, int] = {}
        self.marks: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "div" and self.current is None and "vega-embed" in (attributes.get("class") or ""):
            self.current = attributes.get("id", "").strip()
            self.div_depth = 0
            self.surfaces[self.current] = 0
            self.marks[self.current] = 0
        if self.current is None:
            return
        if tag == "div":
            self.div_depth += 1
        elif tag in ("svg", "canvas"):
            self.surfaces[self.current] += 1
        elif tag in MARK_ELEMENTS:
            self.marks[self.current] += 1

    def handle_endtag(self, tag):
        if self.current is not None and tag == "div":
            self.div_depth -= 1
            if self.div_depth == 0:
                self.current = None


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=15000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def plots_page(tmp_path_factory):
    """`review-lstm plots --base main` in a project copy: the output folder and Chromium's rendered DOM."""
    require_tool(shutil.which("chromium") is not None, "chromium (Debian package)")
    require_tool((REPO_ROOT / "plots" / "node_modules" / "vega-embed").is_dir(), "plots/node_modules (npm ci --prefix plots)")

    workspace = tmp_path_factory.mktemp("plots-page")
    project = copy_project(workspace / "project")
    # The page template and chart templates come from the working tree, so that edits are tested before a commit.
    shutil.copytree(REPO_ROOT / "plots", project / "plots", dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns("node_modules"))
    (project / "plots" / "node_modules").symlink_to(REPO_ROOT / "plots" / "node_modules")

    output = workspace / "page"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert main(["plots", "--base", "main", "--output", str(output)]) == 0
    rendered = chromium("--dump-dom", (output / "index.html").as_uri(), profile=workspace / "chromium-profile")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    return output, rendered.stdout


def test_page_loads_no_remote_scripts(plots_page):
    output, _ = plots_page
    page = (output / "index.html").read_text(encoding="utf-8")

    assert "cdn.jsdelivr.net" not in page
    assert "<script src=" not in page
    assert "vegaEmbed" in page


@pytest.mark.parametrize("plot_id", PLOT_IDS)
def test_every_vega_plot_rendered(plots_page, plot_id):
    _, dom = plots_page
    parser = PlotMarks()
    parser.feed(dom)

    assert plot_id in parser.surfaces, f"no Vega-Embed container for {plot_id}; containers: {sorted(parser.surfaces)}"
    assert parser.surfaces[plot_id] >= 1
    assert parser.marks[plot_id] > 0


def test_plot_titles_and_axis_labels(plots_page):
    _, dom = plots_page

    for label in ("Train vs validation loss per epoch", "Validation macro-F1 per epoch",
                  "Test confusion matrix (star scores)", "Epoch", "Cross-entropy loss", "Predicted score",
                  "Actual score"):
        assert label in dom, label


def test_confusion_matrix_shows_every_score(plots_page):
    _, dom = plots_page
    start = dom.index('id="Test_confusion_matrix"')
    matrix = dom[start:dom.index("</svg>", start)]

    for score in "12345":
        assert f">{score}</text>" in matrix, score


@pytest.mark.parametrize("image", IMAGES)
def test_evaluate_images_copied_for_both_revisions(plots_page, image):
    output, _ = plots_page
    flat_name = image.replace("/", "_")

    for revision in ("workspace", "main"):
        copied = output / "static" / f"{revision}_{flat_name}"
        assert copied.is_file(), copied
        assert copied.stat().st_size > 0
