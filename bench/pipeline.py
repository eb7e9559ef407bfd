"""Whole-pipeline measurements in a copy of the project: `dvc repro`, a no-op `dvc repro`, and scale.

The copy gets the project's tracked and untracked (not ignored) files, its own git
repository, and `src/` first on PYTHONPATH, so its stages run the copied code.
"""

import logging
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from measure import CommandRun, environment_with_path, run_command

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
SCALE_STAGES = ("prepare", "featurize")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]


@dataclass
class StageRun:
    name: str
    seconds: float
    peak_rss_bytes: int


@dataclass
class ReproResult:
    """A full `dvc repro`, its stages, and the start-up times it is compared with."""

    full: CommandRun
    stage_names: tuple[str, ...]
    no_op_seconds: float
    dvc_status_seconds: float
    dvc_version_seconds: float
    stages_rerun: list[str]  # stages that an up-to-date `dvc repro` ran again: needless work


@dataclass
class ScaleResult:
    rows: int
    reviews_kept: int
    stages: list[StageRun]

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)


def copy_project(destination: Path) -> Path:
    """Copy the project's tracked and untracked, not ignored, files; then `git init` and commit."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO_ROOT, check=True, capture_output=True).stdout
    for name in sorted(set(listing.decode().split("\0"))):
        source = REPO_ROOT / name
        if not name or not source.is_file():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=destination, check=True)
    subprocess.run(GIT + ["add", "-A"], cwd=destination, check=True)
    subprocess.run(GIT + ["commit", "-qm", "benchmark copy of the project"], cwd=destination, check=True)
    return destination


def set_params(project: Path, changes: dict[str, object]) -> None:
    """Set dotted keys ("data.raw") in the copy's params.yaml, keeping its comments."""
    yaml = YAML()
    path = project / "params.yaml"
    params = yaml.load(path.read_text(encoding="utf-8"))
    for dotted_key, value in changes.items():
        section, key = dotted_key.split(".")
        params[section][key] = value
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(params, stream)


def stage_names(project: Path) -> tuple[str, ...]:
    stages = YAML(typ="safe", pure=True).load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return tuple(stages)


def _environment(project: Path) -> dict[str, str]:
    environment = environment_with_path(project / "src")
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment['PATH']}"
    return environment


def measure_repro(project: Path, raw: Path, repeats: int) -> ReproResult:
    """Time a full `dvc repro` on `raw`, then an up-to-date `dvc repro`, `dvc status` and `dvc --version`."""
    set_params(project, {"data.raw": str(raw)})
    environment = _environment(project)
    names = stage_names(project)
    logger.info("dvc repro in %s (stages: %s)", project, ", ".join(names))
    full = run_command(["dvc", "repro"], project, environment, names)

    no_op_runs = [run_command(["dvc", "repro"], project, environment) for _ in range(repeats)]
    status_runs = [run_command(["dvc", "status"], project, environment) for _ in range(repeats)]
    version_runs = [run_command(["dvc", "--version"], project, environment) for _ in range(repeats)]
    return ReproResult(full=full, stage_names=names,
                       no_op_seconds=statistics.median(run.seconds for run in no_op_runs),
                       dvc_status_seconds=statistics.median(run.seconds for run in status_runs),
                       dvc_version_seconds=statistics.median(run.seconds for run in version_runs),
                       stages_rerun=sorted({line for run in no_op_runs for line in run.stdout.splitlines()
                                            if line.startswith("Running stage")}))


def measure_scale(project: Path, raw: Path, rows: int) -> ScaleResult:
    """Run the prepare and featurize stage scripts on `raw`, each timed and polled for peak RSS."""
    set_params(project, {"data.raw": str(raw)})
    environment = _environment(project)
    stages = []
    for name in SCALE_STAGES:
        logger.info("%d rows: running stage %s", rows, name)
        run = run_command([sys.executable, f"stages/{name}.py"], project, environment, (name,))
        stages.append(StageRun(name, run.seconds, run.stage_peak_rss_bytes.get(name, run.peak_rss_bytes)))
        logger.info("%d rows: %s took %.1f s, peak RSS %.0f MiB", rows, name, run.seconds,
                    run.peak_rss_bytes / 1024 ** 2)

    report = YAML(typ="safe", pure=True).load((project / "reports" / "prepare.json").read_text(encoding="utf-8"))
    return ScaleResult(rows=rows, reviews_kept=int(report["rows_kept"]), stages=stages)
