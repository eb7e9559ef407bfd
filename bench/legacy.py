"""The earlier method, re-implemented as the benchmark's reference.

Text cleaning: lowercase, replace every character but ASCII letters with a space, drop
stop words, and stem the remaining words with nltk's Porter stemmer. As in the earlier
code, the stop-word set is rebuilt for every word and a stemmer is built per review.

Model: embedding, (bi)LSTM, linear layer and softmax, over reviews padded at the
front (or cut from the front) to exactly 600 token ids, with no packing. The features
are the LSTM's final hidden states. The loss is the negative log of the softmax
output, clipped as Keras's categorical cross-entropy does.
"""

import copy
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from nltk.stem import PorterStemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import f1_score
from torch import nn

from review_lstm.model import NUM_CLASSES
from review_lstm.params import TrainParams
from review_lstm.training import class_weights, epoch_order, seed_everything

SEQUENCE_LENGTH = 600
PAD_ID = 0
# NOTE: the earlier code used nltk's English stop words, which need a separate data download.
# scikit-learn's list (318 words) replaces them, so the set rebuilt for every word is larger.
STOP_WORDS = sorted(ENGLISH_STOP_WORDS)
_NON_LETTERS = re.compile("[^a-zA-Z]")
_PROBABILITY_FLOOR = 1e-7


def clean(text: str) -> list[str]:
    """Return the stemmed words of `text` that are not stop words."""
    words = _NON_LETTERS.sub(" ", text).lower().split()
    stemmer = PorterStemmer()
    return [stemmer.stem(word) for word in words if word not in set(STOP_WORDS)]


class LegacyVocabulary:
    """Word ids by descending training frequency, from 1; unknown words are dropped, 0 pads."""

    def __init__(self, token_lists: list[list[str]], max_size: int, min_frequency: int):
        counts = Counter(token for tokens in token_lists for token in tokens)
        frequent = sorted((item for item in counts.items() if item[1] >= min_frequency),
                          key=lambda item: (-item[1], item[0]))
        self.word_to_id = {word: index + 1 for index, (word, _) in enumerate(frequent[:max_size - 1])}

    def __len__(self) -> int:
        return len(self.word_to_id) + 1

    def pad(self, token_lists: list[list[str]]) -> torch.Tensor:
        """Return a (reviews, 600) tensor of ids, padded and truncated at the front."""
        padded = np.full((len(token_lists), SEQUENCE_LENGTH), PAD_ID, dtype=np.int64)
        for row, tokens in enumerate(token_lists):
            ids = [self.word_to_id[token] for token in tokens if token in self.word_to_id][-SEQUENCE_LENGTH:]
            if ids:
                padded[row, -len(ids):] = ids
        return torch.from_numpy(padded)


class LegacyClassifier(nn.Module):
    """Embedding, LSTM over all 600 positions, final hidden states, linear layer, softmax."""

    def __init__(self, vocab_size: int, params: TrainParams):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, params.embedding_dim)
        self.lstm = nn.LSTM(params.embedding_dim, params.hidden_size, num_layers=params.num_layers,
                            bidirectional=params.bidirectional, batch_first=True,
                            dropout=params.dropout if params.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(params.dropout)
        directions = 2 if params.bidirectional else 1
        self.head = nn.Linear(params.hidden_size * directions, NUM_CLASSES)
        self.bidirectional = params.bidirectional

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Return class probabilities of shape (batch, classes)."""
        _, (final_hidden, _) = self.lstm(self.dropout(self.embedding(token_ids)))
        features = torch.cat([final_hidden[-2], final_hidden[-1]], dim=1) if self.bidirectional else final_hidden[-1]
        return torch.softmax(self.head(self.dropout(features)), dim=1)


@dataclass
class LegacyResult:
    model: LegacyClassifier
    best_epoch: int
    epochs_run: int
    seconds: float
    validation_macro_f1: list[float] = field(default_factory=list)


def probability_loss(probabilities: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Negative log-likelihood of softmax outputs, with probabilities clipped away from 0."""
    log_probabilities = torch.log(probabilities.clamp(_PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR))
    return nn.functional.nll_loss(log_probabilities, labels, weight=weights)


@torch.no_grad()
def predict_probabilities(model: LegacyClassifier, padded: torch.Tensor, batch_size: int) -> np.ndarray:
    model.eval()
    outputs = [model(padded[start:start + batch_size]) for start in range(0, len(padded), batch_size)]
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, NUM_CLASSES), dtype=np.float32)


def fit(params: TrainParams, train_ids: torch.Tensor, train_labels: np.ndarray, validation_ids: torch.Tensor,
        validation_labels: np.ndarray, vocab_size: int) -> LegacyResult:
    """Train as `review_lstm.training.train` does: Adam, same class weights, best epoch by validation macro-F1."""
    seed_everything(params.seed)
    rng = np.random.default_rng(params.seed)
    model = LegacyClassifier(vocab_size, params)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    weights = class_weights(train_labels) if params.imbalance == "class_weights" else None
    labels = torch.from_numpy(np.array(train_labels, dtype=np.int64))  # a writable copy of a memory-mapped array

    start = time.perf_counter()
    best_f1, best_epoch, best_state, history = -1.0, 0, copy.deepcopy(model.state_dict()), []
    for epoch in range(1, params.epochs + 1):
        model.train()
        order = torch.from_numpy(epoch_order(train_labels, params.imbalance, rng))
        for batch_start in range(0, len(order), params.batch_size):
            indices = order[batch_start:batch_start + params.batch_size]
            loss = probability_loss(model(train_ids[indices]), labels[indices], weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        predictions = predict_probabilities(model, validation_ids, params.batch_size * 4).argmax(axis=1)
        validation_f1 = float(f1_score(validation_labels, predictions, average="macro", zero_division=0))
        history.append(validation_f1)
        if validation_f1 > best_f1:
            best_f1, best_epoch, best_state = validation_f1, epoch, copy.deepcopy(model.state_dict())
        if params.early_stopping_patience and epoch - best_epoch >= params.early_stopping_patience:
            break

    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return LegacyResult(model, best_epoch, len(history), seconds, history)
