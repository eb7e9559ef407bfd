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
from review_lstm.distributed import shard_batches, sum_over_processes, wrap_model
from review_lstm.embeddings import PPMI_WINDOW, ppmi_svd_vectors
from review_lstm.encoded import EncodedSplit
from review_lstm.inference import predict_logits
from review_lstm.model import NUM_CLASSES, ModelConfig, ReviewClassifier
from review_lstm.params import TrainParams, as_dict
from review_lstm.word_vectors import PretrainedVectors

logger = logging.getLogger(__name__)

# Exponent of the balanced class weights for each `train.imbalance` value that weights the loss.
CLASS_WEIGHT_POWERS = {"class_weights": 1.0, "sqrt_class_weights": 0.5}


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    validation_loss: float
    validation_macro_f1: float
    # Each ensemble member's own validation macro-F1; one value for a single network.
    member_macro_f1s: list[float] = field(default_factory=list)


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


def class_weights(labels: np.ndarray, power: float = 1.0) -> torch.Tensor:
    """Balanced weights (n / (k * count)) ** power from the training labels; absent classes get 1."""
    present = np.unique(labels)
    weights = np.ones(NUM_CLASSES, dtype=np.float32)
    weights[present] = compute_class_weight("balanced", classes=present, y=np.asarray(labels)) ** power
    return torch.from_numpy(weights)


def epoch_order(labels: np.ndarray, imbalance: str, rng: np.random.Generator) -> np.ndarray:
    """Review indices for one epoch: a permutation, or a class-balanced resample of train."""
    if imbalance != "oversample":
        return rng.permutation(len(labels))
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    sample_weights = 1.0 / counts[labels]
    return rng.choice(len(labels), size=len(labels), replace=True, p=sample_weights / sample_weights.sum())


def build_model(params: TrainParams, vocab_size: int, train_split: EncodedSplit,
                pretrained: PretrainedVectors | None = None) -> ReviewClassifier:
    """Build a new model whose word vectors start as set by 'train.embedding_init'.

    Words that `pretrained` contains start from its vectors instead.
    """
    config = ModelConfig(vocab_size=vocab_size, embedding_dim=params.embedding_dim, hidden_size=params.hidden_size,
                         num_layers=params.num_layers, bidirectional=params.bidirectional, dropout=params.dropout,
                         pooling=params.pooling, ensemble_size=params.ensemble_size)
    model = ReviewClassifier(config)

    if params.embedding_init == "ppmi":
        vectors = ppmi_svd_vectors(train_split, vocab_size, params.embedding_dim, PPMI_WINDOW, params.seed)
        model.set_embedding_vectors(torch.from_numpy(vectors))
    if pretrained is not None:
        model.set_embedding_vectors(torch.from_numpy(pretrained.vectors), torch.from_numpy(pretrained.token_ids))
    return model


def train(params: TrainParams, train_split: EncodedSplit, validation_split: EncodedSplit, vocab_size: int,
          device: torch.device, live=None, resume=None, pretrained: PretrainedVectors | None = None) -> TrainResult:
    """Train for `params.epochs` epochs (fewer with early stopping) and keep the best epoch's weights.

    `resume` (a checkpoints.ResumeCheckpoint) restores an interrupted run at the start and is saved after each epoch.
    `pretrained` holds the vectors of 'train.pretrained_vectors' (see `word_vectors.vectors_for`).
    """
    seed_everything(params.seed)
    rng = np.random.default_rng(params.seed)
    train_labels = np.asarray(train_split.labels)

    model = build_model(params, vocab_size, train_split, pretrained).to(device)
    parallel_model = wrap_model(model, device, params.seed)  # DistributedDataParallel under torchrun
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    power = CLASS_WEIGHT_POWERS.get(params.imbalance)
    weights = class_weights(train_labels, power) if power is not None else None
    criterion = nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)
    logger.info("model: %d parameters; training on %d reviews, validating on %d, device %s",
                sum(p.numel() for p in model.parameters()), len(train_split), len(validation_split), device)

    result = TrainResult(model=model, best_state=copy.deepcopy(model.state_dict()), best_epoch=0)
    best_f1 = -1.0
    first_epoch = 1
    if resume is not None and (point := resume.restore(params, model, optimizer, rng, result, live)):
        first_epoch, best_f1 = point.first_epoch, point.best_score
    for epoch in range(first_epoch, params.epochs + 1):
        # Train one epoch.
        model.train()
        total_loss, seen = 0.0, 0
        order = epoch_order(train_labels, params.imbalance, rng)
        batches = training_batches(train_split, order, params.batch_size, params.max_tokens, rng)
        for batch in shard_batches(batches):  # this process's share of each batch
            member_logits = parallel_model(batch.token_ids.to(device), batch.lengths, per_member=True)
            loss = member_loss(criterion, member_logits, batch.labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch.labels)
            seen += len(batch.labels)
        total_loss, seen = sum_over_processes(total_loss, seen)

        # Score the validation split with the same loss.
        logits = predict_logits(model, validation_split, params.batch_size * 4, params.max_tokens, device)
        validation_labels = torch.from_numpy(np.array(validation_split.labels, dtype=np.int64))
        validation_loss = criterion(torch.from_numpy(logits).to(device), validation_labels.to(device)).item()
        validation_f1 = f1_score(validation_labels.numpy(), logits.argmax(axis=1), average="macro", zero_division=0)
        member_f1s = (member_validation_f1s(model, validation_split, params.batch_size * 4, params.max_tokens, device)
                      if params.ensemble_size > 1 else [float(validation_f1)])
        record = EpochRecord(epoch, total_loss / seen, validation_loss, float(validation_f1), member_f1s)
        result.history.append(record)

        # Keep the best epoch's weights; each ensemble member keeps those of its own best epoch.
        improved_members = keep_best_weights(result, model)
        if improved_members:
            best_f1 = validation_f1
        note = ""
        if improved_members and params.ensemble_size == 1:
            note = " (best so far)"
        elif improved_members:
            note = f" (best so far for {improved_members} of {params.ensemble_size} members)"
        logger.info("epoch %d/%d: train loss %.4f, validation loss %.4f, validation macro-F1 %.4f%s",
                    epoch, params.epochs, record.train_loss, record.validation_loss, record.validation_macro_f1,
                    note)
        if live is not None:
            log_epoch(live, record)
        if resume is not None:
            resume.save(epoch, model, optimizer, rng, result, best_f1)

        if params.early_stopping_patience and epoch - result.best_epoch >= params.early_stopping_patience:
            logger.info("stopping early: no better validation macro-F1 for %d epochs", params.early_stopping_patience)
            break

    model.load_state_dict(result.best_state)
    if params.ensemble_size > 1:
        log_ensemble(result, model, validation_split, params, device)
    else:
        logger.info("best epoch: %d (validation macro-F1 %.4f)", result.best_epoch, best_f1)
    return result


def member_loss(criterion: nn.Module, member_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return the mean of the ensemble members' losses, each computed on the member's own logits.

    So each member learns as if trained alone, from 1/members of its own gradient. Adam's
    per-parameter step size cancels that factor, except in its epsilon and weight decay.
    """
    members = member_logits.shape[0]
    return criterion(member_logits.flatten(0, 1), labels.repeat(members))


def member_validation_f1s(model: ReviewClassifier, validation_split: EncodedSplit, batch_size: int, max_tokens: int,
                          device: torch.device) -> list[float]:
    """Return the validation macro-F1 of each ensemble member on its own."""
    labels = np.asarray(validation_split.labels)
    scores = []
    for member in model.ensemble_members():
        logits = predict_logits(member, validation_split, batch_size, max_tokens, device)
        scores.append(float(f1_score(labels, logits.argmax(axis=1), average="macro", zero_division=0)))
    return scores


def keep_best_weights(result: TrainResult, model: ReviewClassifier) -> int:
    """Copy each member's weights into `result.best_state` if the last epoch is its best so far.

    The scores come from `result.history`, whose last record is the epoch just finished.
    Returns how many members improved. If any did, `result.best_epoch` becomes that epoch.
    A single network is a one-member ensemble.
    """
    *earlier, record = result.history
    members = model.ensemble_members()
    improved_members = 0
    for index, member in enumerate(members):
        earlier_scores = [_member_score(old, index) for old in earlier]
        if earlier_scores and _member_score(record, index) <= max(earlier_scores):
            continue
        improved_members += 1
        prefix = f"members.{index}." if len(members) > 1 else ""
        for name, tensor in member.state_dict().items():
            result.best_state[prefix + name] = tensor.detach().clone()
    if improved_members:
        result.best_epoch = record.epoch
    return improved_members


def _member_score(record: EpochRecord, index: int) -> float:
    # Records without member scores come from a single network.
    return record.member_macro_f1s[index] if record.member_macro_f1s else record.validation_macro_f1


def member_best_epochs(history: list[EpochRecord], members: int) -> list[int]:
    """Return the epoch whose weights each ensemble member keeps: its first epoch with its highest score."""
    best_epochs = []
    for index in range(members):
        scores = [_member_score(record, index) for record in history]
        best_epochs.append(history[int(np.argmax(scores))].epoch)
    return best_epochs


def checkpoint_summary(result: TrainResult, params: TrainParams) -> dict:
    """Return what the checkpoint stores besides the weights: best epochs, history, truncation and params."""
    return {
        "best_epoch": result.best_epoch,
        "member_best_epochs": member_best_epochs(result.history, params.ensemble_size),
        "max_tokens": params.max_tokens,
        "history": [vars(record) for record in result.history],
        "train_params": as_dict(params),
    }


def log_ensemble(result: TrainResult, model: ReviewClassifier, validation_split: EncodedSplit, params: TrainParams,
                 device: torch.device) -> None:
    """Log each member's best epoch and the validation macro-F1 of the ensemble of those weights."""
    logits = predict_logits(model, validation_split, params.batch_size * 4, params.max_tokens, device)
    ensemble_f1 = f1_score(np.asarray(validation_split.labels), logits.argmax(axis=1), average="macro",
                           zero_division=0)
    best_epochs = member_best_epochs(result.history, params.ensemble_size)
    logger.info("ensemble of %d members with best epochs %s: validation macro-F1 %.4f", params.ensemble_size,
                ", ".join(map(str, best_epochs)), ensemble_f1)


def log_epoch(live, record: EpochRecord) -> None:
    """Log one epoch to dvclive, with the epoch number as the step."""
    live.step = record.epoch
    live.log_metric("train/loss", record.train_loss)
    live.log_metric("validation/loss", record.validation_loss)
    live.log_metric("validation/macro_f1", record.validation_macro_f1)
    live.make_summary()
