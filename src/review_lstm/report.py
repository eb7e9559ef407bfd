"""The pull-request report: metrics and params of a change against a base revision, in Markdown.

DVC reads both sides: the base revision's reports/metrics.json and params.yaml from
git, the change's from the working tree (or from a target revision).
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dvc.exceptions import NotDvcRepoError
from dvc.repo import Repo
from dvc.utils.serialize import load_path
from scmrepo.exceptions import RevError

from review_lstm.errors import UserInputError

WORKSPACE = "workspace"  # DVC's name for the working tree as a revision

# Images that the evaluate stage writes, referenced from the report by relative path.
IMAGES = (
    ("Train and validation loss per epoch", Path("reports/loss.png")),
    ("Test confusion matrix", Path("reports/confusion.png")),
)

# Rows of the key-metrics table: metric key in reports/metrics.json, label.
KEY_METRICS = (
    ("lstm.macro_f1", "LSTM macro-F1"),
    ("lstm.accuracy", "LSTM accuracy"),
    ("lstm.weighted_f1", "LSTM weighted-F1"),
    ("lstm.mae", "LSTM MAE (stars)"),
    ("baseline.macro_f1", "Linear reference macro-F1"),
    ("baseline.accuracy", "Linear reference accuracy"),
    ("majority.macro_f1", "Majority-score macro-F1"),
    ("best_epoch", "Best epoch"),
    ("test_reviews", "Test reviews"),
)
VERDICT_METRIC = "lstm.macro_f1"
REFERENCE_METRIC = "baseline.macro_f1"

# metrics.json rounds to 6 decimals, so a smaller difference is floating-point noise.
UNCHANGED_TOLERANCE = 5e-7
MISSING = "—"


@dataclass(frozen=True)
class Change:
    """One metric or parameter on both sides; `None` where that side has no value or a null."""

    key: str
    old: Any
    new: Any
    added: bool = False  # absent at the base
    removed: bool = False  # absent in the target

    @property
    def difference(self) -> float | None:
        if not (_is_number(self.old) and _is_number(self.new)):
            return None
        return self.new - self.old


@dataclass
class Comparison:
    """Metrics and params of the target (the change) against the base revision."""

    base: str
    base_commit: str
    target: str
    metrics: dict[str, Change]
    params: dict[str, Change]
    base_has_metrics: bool
    root: Path
    problems: list[str] = field(default_factory=list)


def compare(base: str, target: str = WORKSPACE, root: str | Path | None = None) -> Comparison:
    """Read metrics and params at `base` and at `target` with DVC and pair them up by key."""
    try:
        repo = Repo(str(root) if root is not None else None)
    except NotDvcRepoError:
        raise UserInputError(f"{Path(root or '.').resolve()}: not inside a DVC project; run the report from "
                             f"the project folder.") from None

    with repo:
        root_dir = repo.root_dir
        base_commit = _resolve(repo, base, "--base")
        if target != WORKSPACE:
            _resolve(repo, target, "--target")

        revisions = [base, target]
        problems: list[str] = []
        # DVC's metrics show leaves out null values, such as the precision of a score that is never
        # predicted. The files are read again as they are, so that a null does not look like a new metric.
        metrics = _read_revisions(repo.metrics.show(revs=revisions, hide_workspace=False), revisions, problems,
                                  reader=lambda revision, path: _load_at_revision(repo, revision, path))
        params = _read_revisions(repo.params.show(revs=revisions, hide_workspace=False), revisions, problems)

    old_metrics, new_metrics = metrics[base], metrics[target]
    if not new_metrics:
        where = "the working tree" if target == WORKSPACE else f"revision '{target}'"
        raise UserInputError(f"no metrics found in {where}: reports/metrics.json is missing or empty. "
                             f"Run `dvc repro` first.")

    return Comparison(
        base=base,
        base_commit=base_commit,
        target=target,
        metrics=_pair(old_metrics, new_metrics, changed_only=False),
        params=_pair(params[base], params[target], changed_only=True),
        base_has_metrics=bool(old_metrics),
        root=Path(root_dir),
        problems=problems,
    )


def _resolve(repo: Repo, revision: str, option: str) -> str:
    try:
        return repo.scm.resolve_rev(revision)
    except RevError:
        raise UserInputError(f"{option}: unknown git revision '{revision}'. Name a branch, tag or commit; "
                             f"in a shallow clone, fetch it first (for example `git fetch origin {revision}`).") from None


def _read_revisions(result: dict, revisions: list[str], problems: list[str],
                    reader: Callable[[str, str], Any] | None = None) -> dict[str, dict[str, Any]]:
    """Flatten DVC's show() result to {revision: {"key.sub": value}}, noting unreadable files.

    A file missing at a revision is not a problem: it just has no values there. With a
    `reader`, each file's content comes from `reader(revision, path)` instead of DVC's result.
    """
    values = {}
    for revision in revisions:
        entry = result.get(revision, {})
        if "error" in entry and not _is_missing_file(entry["error"]):
            problems.append(f"`{revision}`: {entry['error']}")
        flat: dict[str, Any] = {}
        files = entry.get("data", {})
        for path, content in files.items():
            if "error" in content:
                if not _is_missing_file(content["error"]):
                    problems.append(f"`{revision}`: cannot read {path}: {content['error']}")
                continue
            prefix = "" if len(files) == 1 else f"{path}:"
            data = reader(revision, path) if reader else content.get("data", {})
            _flatten(data, prefix, flat)
        values[revision] = flat
    return values


def _load_at_revision(repo: Repo, revision: str, path: str) -> dict:
    """Load a JSON or YAML file as it is at `revision`, nulls included."""
    with repo.switch(revision):
        content = load_path(path, repo.dvcfs)
    return content if isinstance(content, dict) else {}


def _is_missing_file(error: Exception) -> bool:
    return isinstance(error, FileNotFoundError) or type(error).__name__ in {"FileMissingError", "PathMissingError"}


def _flatten(data: dict, prefix: str, into: dict[str, Any]) -> None:
    """Add nested `data` to `into` with dotted keys, as `dvc metrics show` names them."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, f"{name}.", into)
        else:
            into[name] = value


def _pair(old: dict[str, Any], new: dict[str, Any], changed_only: bool) -> dict[str, Change]:
    pairs = {}
    for key in sorted(set(old) | set(new)):
        change = Change(key, old.get(key), new.get(key), added=key not in old, removed=key not in new)
        if changed_only and key in old and key in new and old[key] == new[key]:
            continue
        pairs[key] = change
    return pairs


def render_markdown(comparison: Comparison, report_folder: Path) -> str:
    """Return the report as GitHub-flavoured Markdown.

    Image links are relative to `report_folder`, the folder of the Markdown file, so
    that CML can find and upload them.
    """
    base = f"`{comparison.base}`"
    this = "this change" if comparison.target == WORKSPACE else f"`{comparison.target}`"
    lines = [f"## Model report: {this} vs {base} ({comparison.base_commit[:7]})", ""]

    lines += _summary_lines(comparison, base)
    lines += ["", "### Parameters", ""]
    lines += _params_lines(comparison, base, this)
    lines += ["", "### Key metrics (test split)", ""]
    lines += _metrics_table([comparison.metrics.get(key, Change(key, None, None)) for key, _ in KEY_METRICS],
                            base, this, labels=dict(KEY_METRICS))
    lines += ["", "### Plots", ""]
    lines += _image_lines(comparison, report_folder)
    lines += ["", f"<details><summary>All {len(comparison.metrics)} metrics</summary>", ""]
    lines += _metrics_table(list(comparison.metrics.values()), base, this)
    lines += ["", "</details>"]

    if comparison.problems:
        lines += ["", "### Problems reading the revisions", ""]
        lines += [f"- {problem}" for problem in comparison.problems]
    return "\n".join(lines) + "\n"


def verdict(change: Change) -> str:
    """Return 'better', 'worse' or 'unchanged' for a higher-is-better metric, or 'no baseline'."""
    difference = change.difference
    if change.old is None or difference is None:
        return "no baseline"
    if abs(difference) < UNCHANGED_TOLERANCE:
        return "unchanged"
    return "better" if difference > 0 else "worse"


def _summary_lines(comparison: Comparison, base: str) -> list[str]:
    lines = []
    if not comparison.base_has_metrics:
        lines += [f"**No baseline:** {base} has no metrics (reports/metrics.json is missing there), so this "
                  f"report shows this change's values only.", ""]

    lstm = comparison.metrics.get(VERDICT_METRIC, Change(VERDICT_METRIC, None, None))
    outcome = verdict(lstm)
    if lstm.new is None:
        lines.append("**LSTM macro-F1: missing** from this change's metrics.")
    elif outcome == "no baseline":
        lines.append(f"**LSTM macro-F1: no baseline**, {_format(lstm.new)} on this change; {base} has no value "
                     f"to compare with.")
    else:
        lines.append(f"**LSTM macro-F1: {outcome}**, {_format(lstm.old)} → {_format(lstm.new)} "
                     f"({_format_difference(lstm.difference)}){_interval_note(comparison, lstm)}.")

    reference = comparison.metrics.get(REFERENCE_METRIC)
    if reference is not None and _is_number(reference.new) and _is_number(lstm.new):
        gap = lstm.new - reference.new
        if abs(gap) < UNCHANGED_TOLERANCE:
            position = "level with it"
        else:
            position = f"{_format(abs(gap))} {'above' if gap > 0 else 'below'} it"
        lines.append(f"Linear reference (TF-IDF + logistic regression) macro-F1: {_format(reference.new)} "
                     f"(base {_format(reference.old)}); the LSTM is {position}.")

    best_epoch = comparison.metrics.get("best_epoch")
    if best_epoch is not None:
        lines.append(f"Best epoch: {_format(best_epoch.new)} (base {_format(best_epoch.old)}).")
    return lines


def _interval_note(comparison: Comparison, change: Change) -> str:
    """Say whether the new value lies inside the base run's 95% bootstrap interval."""
    low = comparison.metrics.get(f"{change.key}_ci_low")
    high = comparison.metrics.get(f"{change.key}_ci_high")
    if low is None or high is None or not (_is_number(low.old) and _is_number(high.old)):
        return ""
    inside = low.old <= change.new <= high.old
    return (f"; the new value is {'inside' if inside else 'outside'} the base run's 95% bootstrap interval "
            f"{_format(low.old)}–{_format(high.old)}")


def _params_lines(comparison: Comparison, base: str, this: str) -> list[str]:
    if not comparison.params:
        return ["No parameter changed."]
    lines = [f"| Parameter | {base} | {this} |", "|---|---|---|"]
    for change in comparison.params.values():
        lines.append(f"| {change.key} | {_format_param(change.old)} | {_format_param(change.new)} |")
    return lines


def _metrics_table(changes: list[Change], base: str, this: str, labels: dict[str, str] | None = None) -> list[str]:
    lines = [f"| Metric | {base} | {this} | Change |", "|---|---:|---:|---:|"]
    for change in changes:
        label = labels[change.key] if labels else change.key
        if change.added:
            difference = "new"
        elif change.removed:
            difference = "removed"
        else:
            difference = _format_difference(change.difference)
        lines.append(f"| {label} | {_format(change.old)} | {_format(change.new)} | {difference} |")
    return lines


def _image_lines(comparison: Comparison, report_folder: Path) -> list[str]:
    if comparison.target != WORKSPACE:
        return [f"Images are shown only for the working tree; `dvc plots diff {comparison.base} "
                f"{comparison.target}` compares the plots of two revisions."]
    lines = []
    for title, image in IMAGES:
        path = comparison.root / image
        if not path.is_file():
            lines.append(f"{title}: {image.as_posix()} not found; run `dvc repro evaluate`.")
            continue
        link = Path(os.path.relpath(path.resolve(), report_folder.resolve())).as_posix()
        lines.append(f"![{title}]({link})")
    return lines


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _format(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _format_difference(difference: float | None) -> str:
    if difference is None:
        return MISSING
    if isinstance(difference, int):
        return f"{difference:+d}"
    if difference != 0 and abs(difference) < 1e-4:
        return f"{difference:+.6f}"
    return f"{difference:+.4f}"


def _format_param(value: Any) -> str:
    if value is None:
        return MISSING
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{text}`".replace("|", "\\|")
