"""The training loop: Adam on cross-entropy over raw logits, best epoch by validation macro-F1."""

import copy
import logging
import random
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from review_lstm.batches import training_batches
from review_lstm.encoded import EncodedSplit
from review_lstm.inference import predict_logits
from review_lstm.model import NUM_CLASSES, ModelConfig, ReviewClassifier
from review_lstm.params import TrainParams

logger = logging.getLogger(__name__)


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    validation_loss: float
    validation_macro_f1: float


@dataclass
class TrainResult:
    model: ReviewClassifier
    best_state: dict
    best_epoch: int
    history: list[EpochRecord] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch, and make PyTorch pick deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Balanced weights n / (k * count) from the training labels; absent classes get 1."""
    present = np.unique(labels)
    weights = np.ones(NUM_CLASSES, dtype=np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=np.asarray(labels))
    return torch.from_numpy(weights)


def epoch_order(labels: np.ndarray, imbalance: str, rng: np.random.Generator) -> np.ndarray:
    """Review indices for one epoch: a permutation, or a class-balanced resample of train."""
    if imbalance != "oversample":
        return rng.permutation(len(labels))
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    sample_weights = 1.0 / counts[labels]
    return rng.choice(len(labels), size=len(labels), replace=True, p=sample_weights / sample_weights.sum())


def build_model(params: TrainParams, vocab_size: int) -> ReviewClassifier:
    config = ModelConfig(vocab_size=vocab_size, embedding_dim=params.embedding_dim, hidden_size=params.hidden_size,
                         num_layers=params.num_layers, bidirectional=params.bidirectional, dropout=params.dropout,
                         pooling=params.pooling)
    return ReviewClassifier(config)


def train(params: TrainParams, train_split: EncodedSplit, validation_split: EncodedSplit, vocab_size: int,
          device: torch.device, live=None) -> TrainResult:
    """Train for `params.epochs` epochs (fewer with early stopping) and keep the best epoch's weights."""
    seed_everything(params.seed)
    rng = np.random.default_rng(params.seed)
    train_labels = np.asarray(train_split.labels)

    model = build_model(params, vocab_size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    weights = class_weights(train_labels) if params.imbalance == "class_weights" else None
    criterion = nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)
    logger.info("model: %d parameters; training on %d reviews, validating on %d, device %s",
                sum(p.numel() for p in model.parameters()), len(train_split), len(validation_split), device)

    result = TrainResult(model=model, best_state=copy.deepcopy(model.state_dict()), best_epoch=0)
    best_f1 = -1.0
    for epoch in range(1, params.epochs + 1):
        # Train one epoch.
        model.train()
        total_loss, seen = 0.0, 0
        order = epoch_order(train_labels, params.imbalance, rng)
        for batch in training_batches(train_split, order, params.batch_size, params.max_tokens, rng):
            logits = model(batch.token_ids.to(device), batch.lengths)
            loss = criterion(logits, batch.labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch.labels)
            seen += len(batch.labels)

        # Score the validation split with the same loss.
        logits = predict_logits(model, validation_split, params.batch_size * 4, params.max_tokens, device)
        validation_labels = torch.from_numpy(np.array(validation_split.labels, dtype=np.int64))
        validation_loss = criterion(torch.from_numpy(logits).to(device), validation_labels.to(device)).item()
        validation_f1 = f1_score(validation_labels.numpy(), logits.argmax(axis=1), average="macro", zero_division=0)
        record = EpochRecord(epoch, total_loss / seen, validation_loss, float(validation_f1))
        result.history.append(record)

        # Keep the best epoch's weights.
        improved = validation_f1 > best_f1
        if improved:
            best_f1 = validation_f1
            result.best_epoch = epoch
            result.best_state = copy.deepcopy(model.state_dict())
        logger.info("epoch %d/%d: train loss %.4f, validation loss %.4f, validation macro-F1 %.4f%s",
                    epoch, params.epochs, record.train_loss, record.validation_loss, record.validation_macro_f1,
                    " (best so far)" if improved else "")
        if live is not None:
            log_epoch(live, record)

        if params.early_stopping_patience and epoch - result.best_epoch >= params.early_stopping_patience:
            logger.info("stopping early: no better validation macro-F1 for %d epochs", params.early_stopping_patience)
            break

    logger.info("best epoch: %d (validation macro-F1 %.4f)", result.best_epoch, best_f1)
    model.load_state_dict(result.best_state)
    return result


def log_epoch(live, record: EpochRecord) -> None:
    """Log one epoch to dvclive, with the epoch number as the step."""
    live.step = record.epoch
    live.log_metric("train/loss", record.train_loss)
    live.log_metric("validation/loss", record.validation_loss)
    live.log_metric("validation/macro_f1", record.validation_macro_f1)
    live.make_summary()
