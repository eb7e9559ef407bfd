"""Multi-seed evaluation: the whole pipeline over several seeded splits, summarised as a table.

One test split of a few hundred reviews gives a macro-F1 that moves by a few
hundredths from split to split, so settings are compared by the mean and standard
deviation over several stratified splits. Each split seed runs prepare, featurize,
train and evaluate with the package functions in a temporary folder, with every
other setting taken from the params file.
"""

import dataclasses
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from review_lstm.encoded import EncodedSplit
from review_lstm.evaluate import EvaluatePaths, evaluate
from review_lstm.featurize import featurize
from review_lstm.inference import save_checkpoint
from review_lstm.params import (DataParams, EvaluateParams, FeaturizeParams, PrepareParams, TrainParams,
                                load_section)
from review_lstm.prepare import prepare
from review_lstm.training import checkpoint_summary, train
from review_lstm.vocab import Vocabulary
from review_lstm.word_vectors import vectors_for

logger = logging.getLogger(__name__)

MODELS = (("lstm", "LSTM"), ("baseline", "linear"))
METRICS = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("mae", "MAE"))


@dataclass(frozen=True)
class SeedResult:
    """Test metrics of one split seed, as evaluate writes them to metrics.json."""

    split_seed: int
    test_reviews: int
    metrics: dict

    def value(self, model: str, metric: str) -> float:
        return self.metrics[model][metric]


def run_quality(data_path: Path, params_path: Path, seeds: int) -> list[SeedResult]:
    """Run the pipeline once per split seed: prepare.seed, prepare.seed + 1, ... (`seeds` in all)."""
    params = PipelineParams.load(params_path, data_path)
    first_seed = params.prepare.seed

    # The thread count changes the order of floating-point sums, and so the trained weights.
    previous_threads = torch.get_num_threads()
    if params.train.num_threads:
        torch.set_num_threads(params.train.num_threads)
    try:
        results = []
        for split_seed in range(first_seed, first_seed + seeds):
            logger.info("split seed %d (%d of %d): prepare, featurize, train, evaluate", split_seed,
                        split_seed - first_seed + 1, seeds)
            with tempfile.TemporaryDirectory(prefix="review-lstm-quality-") as scratch:
                metrics = run_pipeline(params.with_split_seed(split_seed), Path(scratch))

            results.append(SeedResult(split_seed=split_seed, test_reviews=metrics["test_reviews"], metrics=metrics))
            logger.info("split seed %d: LSTM macro-F1 %.3f, linear reference macro-F1 %.3f", split_seed,
                        metrics["lstm"]["macro_f1"], metrics["baseline"]["macro_f1"])
    finally:
        torch.set_num_threads(previous_threads)
    return results


@dataclass(frozen=True)
class PipelineParams:
    """The settings of every stage, with `data.raw` pointing at the review file to use."""

    data: DataParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    train: TrainParams
    evaluate: EvaluateParams

    @classmethod
    def load(cls, params_path: Path, data_path: Path) -> "PipelineParams":
        params = cls(data=load_section("data", params_path),
                     prepare=load_section("prepare", params_path),
                     featurize=load_section("featurize", params_path),
                     train=load_section("train", params_path),
                     evaluate=load_section("evaluate", params_path))
        return params.with_data(data_path)

    def with_data(self, data_path: Path) -> "PipelineParams":
        return dataclasses.replace(self, data=dataclasses.replace(self.data, raw=str(data_path)))

    def with_split_seed(self, seed: int) -> "PipelineParams":
        return dataclasses.replace(self, prepare=dataclasses.replace(self.prepare, seed=seed))


def run_pipeline(params: PipelineParams, folder: Path) -> dict:
    """Run prepare, featurize, train and evaluate with outputs in `folder`, and return the metrics.json content."""
    prepare(params.data, params.prepare, folder / "prepared", folder / "prepare.json")
    featurize(params.featurize, folder / "prepared", folder / "features")
    _train_and_save(params.train, folder)
    return evaluate(params.evaluate, evaluate_paths(folder))


def _train_and_save(train_params: TrainParams, folder: Path) -> None:
    """Train on the encoded splits in `folder` and save the checkpoint as the train stage does."""
    features = folder / "features"
    vocabulary = Vocabulary.load(features / "vocab.json")
    result = train(train_params, EncodedSplit.load(features / "train"), EncodedSplit.load(features / "validation"),
                   len(vocabulary), torch.device("cpu"), pretrained=vectors_for(train_params, vocabulary.tokens))
    save_checkpoint(folder / "model.pt", result.model, result.best_state, checkpoint_summary(result, train_params))


def evaluate_paths(folder: Path) -> EvaluatePaths:
    """Return the evaluate step's paths inside a pipeline folder of `run_pipeline`."""
    return EvaluatePaths(
        model=folder / "model.pt",
        prepared_dir=folder / "prepared",
        features_dir=folder / "features",
        metrics=folder / "metrics.json",
        predictions=folder / "test_predictions.csv",
        loss_plot=folder / "loss.png",
        confusion_plot=folder / "confusion.png",
    )


def format_table(results: list[SeedResult]) -> str:
    """Render one Markdown row per split seed, then the mean ± standard deviation over seeds."""
    header = ["split seed", "test reviews"] + [f"{model} {metric}" for _, model in MODELS for _, metric in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [str(result.split_seed), str(result.test_reviews)]
        cells += [f"{result.value(model, metric):.3f}" for model, _ in MODELS for metric, _ in METRICS]
        lines.append("| " + " | ".join(cells) + " |")

    summary = ["mean ± std", f"{np.mean([result.test_reviews for result in results]):.0f}"]
    for model, _ in MODELS:
        for metric, _ in METRICS:
            mean, std = summarize([result.value(model, metric) for result in results])
            summary.append(f"{mean:.3f} ± {std:.3f}")
    lines.append("| " + " | ".join(summary) + " |")
    return "\n".join(lines) + "\n"


def summarize(values: list[float]) -> tuple[float, float]:
    """Return the mean and the sample standard deviation (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), std
