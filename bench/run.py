"""Benchmark this project against the earlier method, and the pipeline at scale.

Run from the repository root (or with `make bench`):

    python bench/run.py [--quick] [--sizes 100000,1000000] [--data REVIEWS_CSV]

In one run it measures, side by side on the same data: text normalisation, training
and evaluation of the earlier method (bench/legacy.py) and of this project. It then
times a full and an up-to-date `dvc repro` on the real reviews in a copy of the
project, and runs prepare and featurize on generated sets of each size. Generated
files and the copy live in a temporary folder. The table is printed and written to
bench/results.md (or --output).
"""

import argparse
import dataclasses
import datetime
import logging
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from compare import (Row, compare_evaluation, compare_normalization, compare_training, prepare_real_data,
                     read_texts)
from generate import generate
from measure import parallel_speedup
from pipeline import ReproResult, ScaleResult, copy_project, measure_repro, measure_scale, set_params
from review_lstm.params import load_section

logger = logging.getLogger("bench")

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_REVIEWS = REPO_ROOT.parent / "shared" / "data" / "review_data.csv"
DEMO_REVIEWS = REPO_ROOT / "Data" / "review_data.csv"
MAX_PEAK_RSS_BYTES = 2 * 1024 ** 3
MAX_TIME_RATIO_PER_10X_ROWS = 12


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = REAL_REVIEWS if REAL_REVIEWS.is_file() else DEMO_REVIEWS
    parser.add_argument("--data", type=Path, default=default_data,
                        help=f"review CSV in the google-play-scraper shape (default: {default_data})")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated row counts of the generated sets for prepare and featurize "
                             "(default: 100000,1000000; with --quick: 2000,20000)")
    parser.add_argument("--normalize-reviews", type=int, default=None,
                        help="generated reviews for the normalisation comparison (default: 100000; --quick: 2000)")
    parser.add_argument("--eval-reviews", type=int, default=None,
                        help="reviews scored in the evaluation comparison (default: 2250; --quick: 300)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of both models (default: train.epochs of params.yaml; --quick: 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats of short measurements; the best is kept (default: 3; --quick: 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="PyTorch CPU threads for both models in the training and evaluation comparison; "
                             "0 keeps PyTorch's default (default: 1, so that cores busy with other programs "
                             "slow both models alike)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, one epoch and few bootstrap samples: a smoke run")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results.md",
                        help="Markdown file for the results (default: bench/results.md)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="folder for generated data and the project copy (default: a new temporary folder, "
                             "removed at the end)")
    arguments = parser.parse_args(argv)
    _apply_defaults(arguments)
    return arguments


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid sizes {value!r}; expected whole numbers separated by commas, "
                                         f"such as 100000,1000000") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"invalid sizes {value!r}; expected positive row counts")
    return sizes


def _apply_defaults(arguments: argparse.Namespace) -> None:
    quick = arguments.quick
    defaults = {"sizes": [2_000, 20_000] if quick else [100_000, 1_000_000],
                "normalize_reviews": 2_000 if quick else 100_000,
                "eval_reviews": 300 if quick else 2_250,
                "repeats": 1 if quick else 3}
    for name, value in defaults.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    if arguments.epochs is None and quick:
        arguments.epochs = 1


def machine_description() -> dict[str, str]:
    cpu_model = "unknown"
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    return {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "nproc": str(os.cpu_count()),
            "cpu": cpu_model, "torch": torch.__version__, "torch_threads": str(torch.get_num_threads()),
            "python": platform.python_version(), "load": load, "speedup": f"{parallel_speedup():.2f}"}


def run(arguments: argparse.Namespace, work: Path) -> str:
    """Run every measurement and return the results as Markdown."""
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    machine = machine_description()
    logger.info("benchmark on %s (%s CPUs), load average %s", machine["cpu"], machine["nproc"], machine["load"])
    params = {name: load_section(name, REPO_ROOT / "params.yaml")
              for name in ("data", "prepare", "featurize", "train", "evaluate")}
    if arguments.epochs is not None:
        params["train"] = dataclasses.replace(params["train"], epochs=arguments.epochs)

    rows, train_reviews = compare_side_by_side(arguments, work, params)
    repro, scale = measure_pipeline(arguments, work)

    settings = (f"- Training in the comparison: at most {params['train'].epochs} epochs "
                f"(params.yaml{' with --epochs' if arguments.epochs is not None else ''}); the same in the "
                f"project copy, where `featurize.n_process` is {params['featurize'].n_process}.")
    return render(arguments, machine, rows, repro, scale, train_reviews, settings)


def compare_side_by_side(arguments: argparse.Namespace, work: Path, params: dict) -> tuple[list[Row], int]:
    """Return the comparison rows (normalisation, training, evaluation) and the training split's size."""
    normalize_path = generate(arguments.data, work / "normalize.csv", arguments.normalize_reviews, seed=1)
    real_texts = read_texts(arguments.data)
    rows = compare_normalization(real_texts, params["featurize"], f"{len(real_texts):,} real reviews",
                                 arguments.repeats)
    rows += compare_normalization(read_texts(normalize_path), params["featurize"],
                                  f"{arguments.normalize_reviews:,} generated reviews", arguments.repeats)

    prepared = prepare_real_data(arguments.data, work / "real", params["data"], params["prepare"],
                                 params["featurize"])
    training = compare_training(prepared, params["train"], params["evaluate"])
    rows += training.rows
    rows += compare_evaluation(prepared, training, params["train"], params["evaluate"], arguments.eval_reviews,
                               arguments.repeats)
    return rows, len(prepared.splits["train"])


def measure_pipeline(arguments: argparse.Namespace, work: Path) -> tuple[ReproResult, list[ScaleResult]]:
    """Time `dvc repro` on the real reviews, then prepare and featurize on each generated size."""
    project = copy_project(work / "project")
    set_params(project, _copy_overrides(arguments))
    repro = measure_repro(project, arguments.data.resolve(), arguments.repeats)
    scale = []
    for size in arguments.sizes:
        raw = generate(arguments.data, work / f"generated-{size}.csv", size)
        scale.append(measure_scale(project, raw, size))
        raw.unlink()
    return repro, scale


def _copy_overrides(arguments: argparse.Namespace) -> dict[str, object]:
    """Return the params.yaml changes for the project copy: fewer epochs and resamples when asked."""
    overrides: dict[str, object] = {}
    if arguments.epochs is not None:
        overrides["train.epochs"] = arguments.epochs
    if arguments.quick:
        overrides["evaluate.bootstrap_samples"] = 20
    return overrides


def render(arguments: argparse.Namespace, machine: dict[str, str], rows: list[Row], repro: ReproResult,
           scale: list[ScaleResult], train_reviews: int, settings: str) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python bench/run.py{' --quick' if arguments.quick else ''}` on {machine['date']}.",
        "",
        f"- Machine: {machine['nproc']} CPUs (`nproc`), {machine['cpu']}; Python {machine['python']}, "
        f"torch {machine['torch']}. PyTorch threads in the training and evaluation comparison: "
        f"{machine['torch_threads']} (`--threads`); the pipeline's train stage uses `train.num_threads`.",
        f"- Load average when the run started: {machine['load']} (the machine may be shared, so absolute "
        f"figures are noisy; ratios compare two measurements taken one right after the other).",
        f"- Two processes finished a pure-CPU loop {machine['speedup']}x as fast as one at the start "
        f"(about 2 when two cores are free): the most that `n_process=2` could gain then.",
        f"- Real reviews: `{arguments.data.name}`, {train_reviews} of them in the training split. Generated sets: "
        f"rows sampled with replacement from it, each text lightly perturbed (bench/generate.py).",
        settings,
        "",
        "## Earlier method vs this project",
        "",
        "| Measure | Earlier method | This project | Ratio | Ratio (CPU time) | Goal |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        cpu_ratio = f"{row.cpu_ratio:.2f}x" if row.cpu_ratio is not None else ""
        lines.append(f"| {row.measure} | {_number(row.legacy)} | {_number(row.current)} | "
                     f"{row.ratio:.2f}x | {cpu_ratio} | {row.goal} |")

    lines += ["", "## Pipeline on the real reviews (`dvc repro` in a copy of the project)", "",
              "| Step | Wall time (s) | Peak RSS (MiB) |", "| --- | ---: | ---: |",
              f"| full `dvc repro` | {repro.full.seconds:.1f} | {_megabytes(repro.full.peak_rss_bytes)} |"]
    for name in repro.stage_names:
        if name in repro.full.stage_seconds:
            lines.append(f"| stage {name} | {repro.full.stage_seconds[name]:.1f} | "
                         f"{_megabytes(repro.full.stage_peak_rss_bytes[name])} |")
    lines += [f"| `dvc repro` with nothing to do (median) | {repro.no_op_seconds:.2f} | |",
              f"| `dvc status` (median) | {repro.dvc_status_seconds:.2f} | |",
              f"| `dvc --version` (median) | {repro.dvc_version_seconds:.2f} | |",
              "",
              f"Stages that the up-to-date `dvc repro` ran again: {', '.join(repro.stages_rerun) or 'none'}."]

    lines += ["", "## Scale: stage scripts prepare and featurize on generated reviews", "",
              "| Rows | Reviews kept | prepare (s) | featurize (s) | Total (s) | Peak RSS prepare (MiB) | "
              "Peak RSS featurize (MiB) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result in scale:
        seconds = {stage.name: stage.seconds for stage in result.stages}
        peaks = {stage.name: stage.peak_rss_bytes for stage in result.stages}
        lines.append(f"| {result.rows:,} | {result.reviews_kept:,} | {seconds['prepare']:.1f} | "
                     f"{seconds['featurize']:.1f} | {result.seconds:.1f} | {_megabytes(peaks['prepare'])} | "
                     f"{_megabytes(peaks['featurize'])} |")
    lines += ["", *_scale_summary(scale), "", *_method_notes()]
    return "\n".join(lines) + "\n"


def _scale_summary(scale: list[ScaleResult]) -> list[str]:
    if not scale:
        return []
    peak = max(stage.peak_rss_bytes for result in scale for stage in result.stages)
    lines = [f"Largest peak RSS: {_megabytes(peak)} MiB (goal: at most {_megabytes(MAX_PEAK_RSS_BYTES)} MiB)."]
    if len(scale) > 1:
        small, large = scale[0], scale[-1]
        lines.append(f"Time ratio {large.rows:,} / {small.rows:,} rows: {large.seconds / small.seconds:.1f}x for "
                     f"{large.rows / small.rows:.0f}x the rows (goal for 10x the rows: at most "
                     f"{MAX_TIME_RATIO_PER_10X_ROWS}x).")
    return lines


def _method_notes() -> list[str]:
    return [
        "## How it is measured",
        "",
        "- Rates are reviews divided by wall time. Short measurements keep the best of `--repeats` runs. "
        "The CPU-time ratio divides the CPU seconds (all processes) that each side used, which depends less "
        "on other programs.",
        "- Text normalisation times one pass with a new `BatchNormalizer` (empty caches), excluding the "
        "spaCy start-up; the earlier cleaning is bench/legacy.py's `clean`. The tokenizer row runs spaCy's blank "
        "English tokenizer alone over every whole text, with no caching of its own: the cost of tokenizing "
        "each review once. The normaliser beats it on larger inputs because it tokenizes each distinct "
        "white-space-free piece of text only once.",
        "- With `n_process` above 1, each worker process starts with empty caches, so on small inputs the "
        "extra processes mostly repeat work.",
        "- Training: both models train with the train section of params.yaml (Adam, class weights, batch size, "
        "epochs, early stopping, best epoch by validation macro-F1) on the same prepared split. The rate is "
        "training reviews times epochs run, over the whole training time. The earlier model pads every review "
        "to 600 tokens, this project's packs batches of similar length truncated to `train.max_tokens`.",
        "- Evaluation scores already encoded reviews (the test split repeated) with `evaluate.batch_size`.",
        "- Peak RSS sums the resident memory of a stage's process and its children, sampled every 50 ms; "
        "pages that forked workers share with their parent count once per process.",
        "- Scale rows run `python stages/prepare.py` and `python stages/featurize.py` directly, without DVC's "
        "hashing and caching of the outputs.",
    ]


def _number(value: float) -> str:
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"


def _megabytes(value: int) -> str:
    return f"{value / 1024 ** 2:,.0f}"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("spacy").setLevel(logging.WARNING)
    arguments = parse_arguments(argv)
    if not arguments.data.is_file():
        logger.error("review file not found: %s; pass --data with a google-play-scraper CSV", arguments.data)
        return 2

    work = arguments.work_dir or Path(tempfile.mkdtemp(prefix="review-lstm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        markdown = run(arguments, work)
    finally:
        if arguments.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    print(markdown)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(markdown, encoding="utf-8")
    logger.info("results written to %s", arguments.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
