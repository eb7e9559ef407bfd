"""Benchmark prediction: reviews per second in batch, and the time from process start to the first prediction.

Run from the repository root after `dvc repro` (add `dvc repro export` for the ONNX row):

    python bench/bench_predict.py [REVIEWS_CSV] [--repeats 3] [--markdown]

REVIEWS_CSV defaults to ../shared/data/review_data.csv next to the repository. The
script prints a table and writes nothing into the repository.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from review_lstm.predict import Predictor, as_unlabelled_split
from review_lstm.predict_command import CsvReviews

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REVIEWS = REPO_ROOT.parent / "shared" / "data" / "review_data.csv"

# Runs in a fresh interpreter; prints wall-clock times (time.time()) after each step.
FIRST_PREDICTION_SCRIPT = """
import json, sys, time
from review_lstm.predict import Predictor
imported = time.time()
predictor = Predictor.load(sys.argv[1], sys.argv[2])
loaded = time.time()
predictor.predict(["Love the new templates, but sync is slow."])
print(json.dumps({"imported": imported, "loaded": loaded, "predicted": time.time()}))
"""


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reviews", nargs="?", type=Path, default=DEFAULT_REVIEWS,
                        help=f"review CSV in the google-play-scraper shape (default: {DEFAULT_REVIEWS})")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models/model.pt")
    parser.add_argument("--vocab", type=Path, default=REPO_ROOT / "data/features/vocab.json")
    parser.add_argument("--onnx", type=Path, default=REPO_ROOT / "models/model.onnx",
                        help="exported model for the ONNX Runtime row; the row is left out if the file is missing")
    parser.add_argument("--text-column", default="content")
    parser.add_argument("--batch-size", type=int, default=256, help="reviews per forward pass (default: 256)")
    parser.add_argument("--threads", type=int, default=0,
                        help="PyTorch CPU threads, also passed to `review-lstm predict`; 0 keeps PyTorch's default")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is shown")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return parser.parse_args()


def time_first_prediction(model: Path, vocab: Path) -> dict:
    """Start a new Python process and return the seconds to its imports, model load and first prediction."""
    started = time.time()
    output = subprocess.run([sys.executable, "-c", FIRST_PREDICTION_SCRIPT, str(model), str(vocab)],
                            check=True, capture_output=True, text=True).stdout
    marks = json.loads(output.splitlines()[-1])
    return {"imports": marks["imported"] - started, "load": marks["loaded"] - marks["imported"],
            "first prediction": marks["predicted"] - marks["loaded"], "total": marks["predicted"] - started}


def time_batch_prediction(predictor: Predictor, texts: list[str]) -> dict:
    """Return the seconds to encode `texts` with a cold token cache, and to run the model on them."""
    fresh = Predictor(predictor.model, predictor.vocabulary, predictor.max_tokens, predictor.batch_size)
    started = time.perf_counter()
    encoded = fresh.encode(texts)
    encoded_at = time.perf_counter()
    fresh.probabilities_of_token_ids(encoded)
    finished = time.perf_counter()
    return {"encode": encoded_at - started, "model": finished - encoded_at, "total": finished - started}


def time_onnx_model(onnx_path: Path, predictor: Predictor, texts: list[str]) -> float:
    """Return the seconds ONNX Runtime takes for the model part, on the same length-sorted batches."""
    from review_lstm.batches import inference_batches
    from review_lstm.export import load_session, onnx_probabilities

    session = load_session(onnx_path)
    batches = list(inference_batches(as_unlabelled_split(predictor.encode(texts)), predictor.batch_size, predictor.max_tokens))
    started = time.perf_counter()
    for batch in batches:
        onnx_probabilities(session, batch.token_ids.numpy(), batch.lengths.numpy())
    return time.perf_counter() - started


def time_cli_on_file(args: argparse.Namespace) -> float:
    """Return the wall-clock seconds of `review-lstm predict --input` on the whole file, start-up included."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "review_lstm.cli", "predict", "--input", str(args.reviews),
                   "--text-column", args.text_column, "--model", str(args.model), "--vocab", str(args.vocab),
                   "--batch-size", str(args.batch_size), "--threads", str(args.threads),
                   "--output", str(Path(scratch) / "predictions.csv")]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - started


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def print_table(rows: list[tuple[str, str]], markdown: bool) -> None:
    if markdown:
        print("| measurement | result |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        return
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    args = parse_arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = [review.text for review in CsvReviews(args.reviews, args.text_column)]
    predictor = Predictor.load(args.model, args.vocab, args.batch_size)
    count = len(texts)

    starts = [time_first_prediction(args.model, args.vocab) for _ in range(args.repeats)]
    batches = [time_batch_prediction(predictor, texts) for _ in range(args.repeats)]
    cli_seconds = statistics.median(time_cli_on_file(args) for _ in range(args.repeats))

    rows = [
        ("reviews", f"{count:,} from {args.reviews.name}"),
        ("machine", f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} PyTorch threads, "
                    f"load average {os.getloadavg()[0]:.1f}"),
        ("process start to first prediction", f"{median_of(starts, 'total'):.2f} s (imports "
                                              f"{median_of(starts, 'imports'):.2f} s, model and vocabulary load "
                                              f"{median_of(starts, 'load'):.2f} s, first prediction "
                                              f"{median_of(starts, 'first prediction'):.3f} s)"),
        ("batch prediction (Python API)", f"{count / median_of(batches, 'total'):,.0f} reviews/s"),
        ("  text normalisation and token ids", f"{count / median_of(batches, 'encode'):,.0f} reviews/s"),
        ("  PyTorch model", f"{count / median_of(batches, 'model'):,.0f} reviews/s"),
    ]
    if args.onnx.is_file():
        onnx_seconds = statistics.median(time_onnx_model(args.onnx, predictor, texts) for _ in range(args.repeats))
        rows.append(("  ONNX Runtime model", f"{count / onnx_seconds:,.0f} reviews/s"))
    rows.append(("`review-lstm predict --input` on the file", f"{cli_seconds:.2f} s, start-up included "
                                                                f"({count / cli_seconds:,.0f} reviews/s)"))
    print_table(rows, args.markdown)
    print(f"median of {args.repeats} runs; batch size {args.batch_size}", file=sys.stderr)


if __name__ == "__main__":
    main()
