"""Side-by-side measurements: the earlier method (legacy.py) against this project's code.

Each function measures both methods on the same input in the same process, one right
after the other, and returns table rows. Their ratio is the figure to read: on a shared
machine the absolute rates move with the load, but both sides see about the same load.
"""

import csv
import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import legacy
from measure import Timing, best_seconds, best_timing, timed
from review_lstm.encoded import EncodedSplit
from review_lstm.featurize import featurize, iter_split_chunks, text_settings_from
from review_lstm.inference import predict_logits
from review_lstm.metrics import classification_metrics
from review_lstm.params import DataParams, EvaluateParams, FeaturizeParams, PrepareParams, TrainParams
from review_lstm.prepare import prepare
from review_lstm.text import BatchNormalizer, TextNormalizer
from review_lstm.training import train
from review_lstm.vocab import Vocabulary
from review_lstm.word_vectors import PretrainedVectors, vectors_for

logger = logging.getLogger(__name__)


@dataclass
class Row:
    """One line of the comparison table; `higher_is_better` orients the ratio."""

    measure: str
    legacy: float
    current: float
    unit: str
    goal: str = ""
    higher_is_better: bool = True
    cpu_ratio: float | None = None  # the same ratio from CPU seconds, where measured

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.current / self.legacy if self.legacy else float("inf")
        return self.legacy / self.current if self.current else float("inf")


@dataclass
class PreparedData:
    """The real reviews after prepare and featurize, plus the legacy encoding of the same splits."""

    vocabulary: Vocabulary
    splits: dict[str, EncodedSplit]
    # The same splits encoded with stop words removed, as the earlier cleaning does, when params.yaml keeps them.
    splits_without_stop_words: dict[str, EncodedSplit] | None
    vocabulary_without_stop_words: Vocabulary | None
    legacy_vocabulary: legacy.LegacyVocabulary
    legacy_ids: dict[str, torch.Tensor]
    labels: dict[str, np.ndarray]


def read_texts(path: Path, limit: int | None = None) -> list[str]:
    """Return the `content` column of a google-play-scraper CSV, at most `limit` rows."""
    csv.field_size_limit(sys.maxsize)
    texts = []
    with open(path, encoding="utf-8-sig", newline="") as stream:
        for record in csv.DictReader(stream):
            texts.append(record["content"])
            if limit is not None and len(texts) == limit:
                break
    return texts


def compare_normalization(texts: list[str], params: FeaturizeParams, label: str, repeats: int) -> list[Row]:
    """Reviews per second: earlier cleaning vs spaCy's tokenizer alone vs `BatchNormalizer` per process count."""
    old = best_timing(lambda: [legacy.clean(text) for text in texts], repeats)
    logger.info("earlier cleaning, %s: %.0f reviews/s", label, len(texts) / old.wall_seconds)

    tokenizer = min((_time_tokenizer(texts, params) for _ in range(repeats)), key=lambda timing: timing.wall_seconds)
    rows = [_rate_row(f"spaCy tokenizer alone on whole texts, 1 process ({label})", len(texts), old, tokenizer, "")]
    for n_process in sorted({1, 2, params.n_process}):
        current = min((_time_batch_normalizer(texts, params, n_process) for _ in range(repeats)),
                      key=lambda timing: timing.wall_seconds)
        logger.info("BatchNormalizer with %d process(es), %s: %.0f reviews/s", n_process, label,
                    len(texts) / current.wall_seconds)
        goal = ">= 10x" if n_process == params.n_process else ""
        rows.append(_rate_row(f"text normalisation, n_process={n_process} ({label})", len(texts), old, current, goal))
    return rows


def _rate_row(measure: str, reviews: int, old: Timing, current: Timing, goal: str) -> Row:
    cpu_ratio = old.cpu_seconds / current.cpu_seconds if old.cpu_seconds > 0 and current.cpu_seconds > 0 else None
    return Row(measure, reviews / old.wall_seconds, reviews / current.wall_seconds, "reviews/s", goal,
               cpu_ratio=cpu_ratio)


def _time_tokenizer(texts: list[str], params: FeaturizeParams) -> Timing:
    """Time spaCy's tokenizer as `TextNormalizer` sets it up, new for each pass, because it caches what it saw."""
    tokenizer = TextNormalizer(text_settings_from(params)).nlp.tokenizer
    return timed(lambda: list(tokenizer.pipe(texts)))


def _time_batch_normalizer(texts: list[str], params: FeaturizeParams, n_process: int) -> Timing:
    """Time one pass over `texts` with a new normalizer, so its caches start empty; start-up is excluded."""
    normalizer = BatchNormalizer(text_settings_from(params), params.batch_size, n_process)
    batches = [(None, texts[start:start + params.batch_size]) for start in range(0, len(texts), params.batch_size)]

    def normalize_all() -> None:
        with normalizer:
            for _ in normalizer.map(batches):
                pass

    return timed(normalize_all)


def prepare_real_data(raw: Path, work: Path, data: DataParams, prepare_params: PrepareParams,
                      featurize_params: FeaturizeParams) -> PreparedData:
    """Split the real reviews with prepare, encode them with featurize and with the earlier cleaning."""
    prepare(dataclasses.replace(data, raw=str(raw)), prepare_params, work / "prepared", work / "prepare.json")
    vocabulary = featurize(featurize_params, work / "prepared", work / "features")
    splits = {name: EncodedSplit.load(work / "features" / name) for name in ("train", "validation", "test")}
    splits_without_stop_words = vocabulary_without_stop_words = None
    if not featurize_params.remove_stop_words:
        vocabulary_without_stop_words = featurize(dataclasses.replace(featurize_params, remove_stop_words=True),
                                                  work / "prepared", work / "features_without_stop_words")
        splits_without_stop_words = {name: EncodedSplit.load(work / "features_without_stop_words" / name)
                                     for name in ("train", "validation", "test")}

    cleaned = {}
    for name in splits:
        texts = [text for _, _, chunk in iter_split_chunks(work / "prepared" / f"{name}.csv") for text in chunk]
        cleaned[name] = [legacy.clean(text) for text in texts]
    legacy_vocabulary = legacy.LegacyVocabulary(cleaned["train"], featurize_params.max_vocab_size,
                                                featurize_params.min_frequency)
    legacy_ids = {name: legacy_vocabulary.pad(token_lists) for name, token_lists in cleaned.items()}
    labels = {name: np.asarray(split.labels, dtype=np.int64) for name, split in splits.items()}
    return PreparedData(vocabulary, splits, splits_without_stop_words, vocabulary_without_stop_words,
                        legacy_vocabulary, legacy_ids, labels)


def _warm_up(data: PreparedData, params: TrainParams) -> None:
    """Train both models for one epoch on a few reviews, so that PyTorch's one-time start-up
    (lazy imports, first kernel calls) is not counted in either training time."""
    few = dataclasses.replace(params, epochs=1, early_stopping_patience=0)
    reviews = min(len(data.splits["train"]), 2 * params.batch_size)
    subset = _first_reviews(data.splits["train"], reviews)
    train(few, subset, subset, len(data.vocabulary), torch.device("cpu"))
    legacy.fit(few, data.legacy_ids["train"][:reviews], data.labels["train"][:reviews],
               data.legacy_ids["train"][:reviews], data.labels["train"][:reviews], len(data.legacy_vocabulary))


@dataclass
class TrainingComparison:
    rows: list[Row]
    current_model: torch.nn.Module  # the model as params.yaml trains it (an ensemble when ensemble_size > 1)
    single_network: torch.nn.Module
    legacy_model: legacy.LegacyClassifier


def _train_current(splits: dict[str, EncodedSplit], vocab_size: int, params: TrainParams,
                   evaluate_params: EvaluateParams,
                   pretrained: PretrainedVectors | None = None) -> tuple[torch.nn.Module, float, float]:
    """Train this project's model; return it, its training reviews per second per epoch, and its test macro-F1."""
    start = time.perf_counter()
    result = train(params, splits["train"], splits["validation"], vocab_size, torch.device("cpu"),
                   pretrained=pretrained)
    seconds = time.perf_counter() - start
    logits = predict_logits(result.model, splits["test"], evaluate_params.batch_size, params.max_tokens,
                            torch.device("cpu"))
    macro_f1 = classification_metrics(np.asarray(splits["test"].labels), logits.argmax(axis=1))["macro_f1"]
    epochs = len(result.history)
    logger.info("this project's model (%d network(s)): %d epochs in %.1f s", params.ensemble_size, epochs, seconds)
    return result.model, len(splits["train"]) * epochs / seconds, macro_f1


def compare_training(data: PreparedData, params: TrainParams, evaluate_params: EvaluateParams) -> TrainingComparison:
    """Train both models on the same split with the same settings; rate per epoch and test macro-F1.

    The earlier pipeline trained one network, so the first rows compare one network with one
    network. With `train.ensemble_size` above 1, further rows show the shipped ensemble, which
    trains every member on every review.
    """
    train_reviews = len(data.splits["train"])
    _warm_up(data, params)

    logger.info("training the earlier model on %d reviews", train_reviews)
    old = legacy.fit(params, data.legacy_ids["train"], data.labels["train"], data.legacy_ids["validation"],
                     data.labels["validation"], len(data.legacy_vocabulary))
    probabilities = legacy.predict_probabilities(old.model, data.legacy_ids["test"], evaluate_params.batch_size)
    legacy_rate = train_reviews * old.epochs_run / old.seconds
    legacy_f1 = classification_metrics(data.labels["test"], probabilities.argmax(axis=1))["macro_f1"]
    logger.info("earlier model: %d epochs in %.1f s", old.epochs_run, old.seconds)

    logger.info("training this project's model, one network, on the same %d reviews", train_reviews)
    one_network = dataclasses.replace(params, ensemble_size=1)
    pretrained = vectors_for(params, data.vocabulary.tokens)
    single_network, rate, macro_f1 = _train_current(data.splits, len(data.vocabulary), one_network, evaluate_params,
                                                    pretrained)
    rows = [
        Row("training, reviews/s per epoch, one network (with its validation pass)", legacy_rate, rate,
            "reviews/s", ">= 20x (stretch 30x)"),
        Row("test macro-F1, one network (best epoch by validation macro-F1)", legacy_f1, macro_f1, "macro-F1",
            "equal or better"),
    ]
    if data.splits_without_stop_words is not None:
        # Stop words make reviews about twice as long, so this row shows the speed at the earlier token count.
        logger.info("training one network on the same reviews with stop words removed")
        _, rate, macro_f1 = _train_current(data.splits_without_stop_words, len(data.vocabulary_without_stop_words),
                                           dataclasses.replace(one_network, pretrained_vectors=None),
                                           evaluate_params)
        rows += [
            Row("training, reviews/s per epoch, one network, stop words removed as in the earlier cleaning",
                legacy_rate, rate, "reviews/s"),
            Row("test macro-F1, one network, stop words removed", legacy_f1, macro_f1, "macro-F1"),
        ]
    model = single_network
    if params.ensemble_size > 1:
        logger.info("training the shipped ensemble of %d networks", params.ensemble_size)
        model, rate, macro_f1 = _train_current(data.splits, len(data.vocabulary), params, evaluate_params,
                                               pretrained)
        rows += [
            Row(f"training, reviews/s per epoch, shipped ensemble of {params.ensemble_size} networks", legacy_rate,
                rate, "reviews/s"),
            Row(f"test macro-F1, shipped ensemble of {params.ensemble_size} networks", legacy_f1, macro_f1,
                "macro-F1"),
        ]
    return TrainingComparison(rows, model, single_network, old.model)


def compare_evaluation(data: PreparedData, models: TrainingComparison, params: TrainParams,
                       evaluate_params: EvaluateParams, reviews: int, repeats: int) -> list[Row]:
    """Reviews per second when scoring encoded reviews, on the test split repeated to `reviews` reviews."""
    copies = max(1, -(-reviews // len(data.splits["test"])))
    tiled = _tile_split(data.splits["test"], copies)
    legacy_ids = data.legacy_ids["test"].repeat(copies, 1)

    legacy_seconds = best_seconds(lambda: legacy.predict_probabilities(models.legacy_model, legacy_ids,
                                                                       evaluate_params.batch_size), repeats)
    models_to_time = [("one network", models.single_network)]
    if params.ensemble_size > 1:
        models_to_time.append((f"shipped ensemble of {params.ensemble_size} networks", models.current_model))

    rows = []
    for name, model in models_to_time:
        seconds = best_seconds(lambda: predict_logits(model, tiled, evaluate_params.batch_size, params.max_tokens,
                                                      torch.device("cpu")), repeats)
        label = f"evaluation, reviews/s, {name} ({len(tiled)} test reviews, batch {evaluate_params.batch_size})"
        rows.append(Row(label, len(tiled) / legacy_seconds, len(tiled) / seconds, "reviews/s", ">= 5,000 reviews/s"))
    return rows


def _tile_split(split: EncodedSplit, copies: int) -> EncodedSplit:
    lengths = np.tile(split.lengths, copies)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return EncodedSplit(token_ids=np.tile(np.asarray(split.token_ids), copies), offsets=offsets,
                        labels=np.tile(np.asarray(split.labels), copies), rows=np.tile(np.asarray(split.rows), copies))


def _first_reviews(split: EncodedSplit, count: int) -> EncodedSplit:
    offsets = np.asarray(split.offsets[:count + 1])
    return EncodedSplit(token_ids=np.asarray(split.token_ids[:offsets[-1]]), offsets=offsets,
                        labels=np.asarray(split.labels[:count]), rows=np.asarray(split.rows[:count]))
