"""Shared fixtures: the repository root, the real reviews, and writers for tiny CSVs and params."""

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from review_lstm.encoded import EncodedSplit, EncodedSplitWriter

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_REVIEWS = REPO_ROOT.parent / "shared" / "data" / "review_data.csv"
HEADER = ["reviewId", "userName", "userImage", "content", "score", "thumbsUpCount",
          "reviewCreatedVersion", "at", "replyContent", "repliedAt"]

# Small, made-up reviews per score; enough words that a model can tell them apart.
TINY_TEXTS = {
    1: ["crashes every time I open it, useless", "terrible update, lost all my notes", "worst app, refund please",
        "keeps freezing and support never answers", "cannot log in at all, awful"],
    2: ["too many ads, barely usable", "sync is broken most days", "slow and buggy, disappointed",
        "used to be good, now mostly annoying", "export fails half the time"],
    3: ["it is okay, nothing special", "average app, some bugs", "fine for basic notes but limited",
        "decent but the subscription is pricey", "works, though the layout is confusing"],
    4: ["good app, a few small bugs", "really useful, wish it had dark mode", "nice templates, mostly smooth",
        "solid app, export could be faster", "pretty good, recommend it"],
    5: ["love it, perfect for my work", "excellent app, works flawlessly", "amazing templates, best app ever",
        "great app, five stars", "fantastic, use it every day"],
}


def real_reviews_path() -> Path:
    """Return the real reviews file; fail under CI=true when it is missing, skip otherwise."""
    if REAL_REVIEWS.is_file():
        return REAL_REVIEWS
    if os.environ.get("CI") == "true":
        pytest.fail(f"real reviews not found at {REAL_REVIEWS}; CI must provide them")
    pytest.skip(f"real reviews not found at {REAL_REVIEWS}")


def write_reviews_csv(path: Path, rows: list[tuple[str, object]], header: list[str] = HEADER) -> Path:
    """Write (content, score) pairs as a google-play-scraper shaped CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for index, (content, score) in enumerate(rows):
            values = {"reviewId": f"id-{index}", "userName": f"user {index}", "content": content, "score": score}
            writer.writerow([values.get(column, "") for column in header])
    return path


def export_csv_text(rows: list[tuple[str, object]], header: list[str] = HEADER, delimiter: str = ",",
                    review_id_format: str = "id-{index}") -> str:
    """Return a google-play-scraper shaped CSV of (content, score) rows, with Unix line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for index, (content, score) in enumerate(rows):
        values = {"reviewId": review_id_format.format(index=index), "userName": f"user {index}", "content": content,
                  "score": score}
        writer.writerow([values.get(column, "") for column in header])
    return buffer.getvalue()


def write_split(path: Path, rows: list[tuple[object, object, str]]) -> Path:
    """Write a prepared split file: (row, score, text) per review, as the prepare stage writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "score", "text"])
        writer.writerows(rows)
    return path


def tiny_review_rows(copies: int = 4) -> list[tuple[str, int]]:
    """Distinct reviews for every score: `copies` variants of each template text."""
    rows = []
    for score, texts in TINY_TEXTS.items():
        for copy_number in range(copies):
            for text in texts:
                rows.append((f"{text} (variant {copy_number})", score))
    return rows


@pytest.fixture
def tiny_reviews_csv(tmp_path: Path) -> Path:
    return write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())


def load_params_file(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def write_params_file(path: Path, params: dict) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    with open(path, "w", encoding="utf-8") as stream:
        yaml.dump(params, stream)


def copy_project(destination: Path) -> Path:
    """Copy the project's files (tracked, and untracked but not ignored) into `destination`, then commit."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=REPO_ROOT, check=True, capture_output=True).stdout
    for name in tracked.decode().split("\0"):
        if not name or not (REPO_ROOT / name).exists():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=destination, check=True)
    subprocess.run(git + ["add", "-A"], cwd=destination, check=True)
    subprocess.run(git + ["commit", "-qm", "copy of the project"], cwd=destination, check=True)
    return destination


def run_in(directory: Path, *command: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command in `directory` with the virtual environment's tools first on PATH."""
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(os.sys.executable).parent}{os.pathsep}{environment['PATH']}"
    result = subprocess.run(list(command), cwd=directory, capture_output=True, text=True, env=environment,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A committed git copy of the project, ready for `dvc repro` and `dvc exp run`."""
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def reproduced_tiny_project(tmp_path_factory) -> Path:
    """A committed project copy whose pipeline ran once on tiny reviews (2 epochs, small LSTM).

    Shared by several test modules: copy it with `shutil.copytree(..., symlinks=True)` before changing it.
    """
    project = copy_project(tmp_path_factory.mktemp("reproduced") / "project")
    write_reviews_csv(project / "Data" / "review_data.csv", tiny_review_rows())
    params = load_params_file(project / "params.yaml")
    params["train"].update(epochs=2, embedding_dim=16, hidden_size=16, lr=0.003)
    params["evaluate"]["bootstrap_samples"] = 20
    write_params_file(project / "params.yaml", params)
    run_in(project, "dvc", "repro")
    run_in(project, "git", "add", "-A")
    run_in(project, "git", "-c", "user.name=test", "-c", "user.email=test@example.invalid",
           "commit", "-qm", "baseline run on tiny reviews")
    return project


def hinted_split(reviews: int, seed: int, vocab_size: int, max_length: int,
                 label_probabilities: list[float] | None = None) -> EncodedSplit:
    """Return encoded reviews of 1 to `max_length` tokens, 70% of whose token ids hint at the label."""
    rng = np.random.default_rng(seed)
    if label_probabilities is None:
        labels = rng.integers(0, 5, size=reviews)
    else:
        labels = rng.choice(5, size=reviews, p=label_probabilities)
    encoded = []
    for label in labels:
        length = int(rng.integers(1, max_length + 1))
        hint = 3 + label * 7 + rng.integers(0, 7, size=length)
        noise = rng.integers(3, vocab_size, size=length)
        encoded.append(np.where(rng.random(length) < 0.7, hint, noise).tolist())
    writer = EncodedSplitWriter()
    writer.add(encoded, labels.tolist(), list(range(2, reviews + 2)))
    return writer.finish()
