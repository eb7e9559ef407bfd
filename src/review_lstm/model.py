"""The LSTM classifier: embedding, (bi)LSTM over packed sequences, pooling, linear head.

An ensemble of several such networks has the same interface as one network.
"""

import dataclasses
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from review_lstm.vocab import PAD_ID

NUM_CLASSES = 5


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; saved in the checkpoint."""

    vocab_size: int
    embedding_dim: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    dropout: float
    pooling: str
    num_classes: int = NUM_CLASSES
    ensemble_size: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


class ReviewClassifier(nn.Module):
    """Map padded token ids and lengths to one logit per star score (no softmax).

    With `ensemble_size` above 1, the classifier contains that many networks of the same
    shape (its members), each with its own weights. Its logits are then the log of the
    members' mean probabilities, so softmax and argmax apply as for a single network.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        if config.ensemble_size > 1:
            member_config = dataclasses.replace(config, ensemble_size=1)
            self.members = nn.ModuleList(ReviewClassifier(member_config) for _ in range(config.ensemble_size))
            return

        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        directions = 2 if config.bidirectional else 1
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size * directions, config.num_classes)

    def ensemble_members(self) -> list["ReviewClassifier"]:
        """Return the single networks: the members of an ensemble, or this network alone."""
        return list(self.members) if self.config.ensemble_size > 1 else [self]

    @torch.no_grad()
    def set_embedding_vectors(self, vectors: torch.Tensor, token_ids: torch.Tensor | None = None) -> None:
        """Copy initial word vectors into every member's embedding layer.

        `vectors` has one row per vocabulary id, or with `token_ids`, one row per id listed there.
        """
        for member in self.ensemble_members():
            if token_ids is None:
                member.embedding.weight.copy_(vectors)
            else:
                member.embedding.weight[token_ids] = vectors

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor, per_member: bool = False) -> torch.Tensor:
        """Return logits of shape (batch, num_classes); `lengths` must be on the CPU.

        With `per_member`, return every member's own logits instead, shape (members, batch, num_classes).
        """
        if self.config.ensemble_size == 1:
            logits = self._network_logits(token_ids, lengths)
            return logits.unsqueeze(0) if per_member else logits
        member_logits = torch.stack([member(token_ids, lengths) for member in self.members])
        return member_logits if per_member else combine_member_logits(member_logits)

    def _network_logits(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(token_ids))
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, (final_hidden, _) = self.lstm(packed)
        features = self._pool(packed_outputs, final_hidden, lengths, token_ids.shape[1])
        return self.head(self.dropout(features))

    def _pool(self, packed_outputs, final_hidden: torch.Tensor, lengths: torch.Tensor, max_length: int) -> torch.Tensor:
        if self.config.pooling == "last":
            if self.config.bidirectional:
                return torch.cat([final_hidden[-2], final_hidden[-1]], dim=1)
            return final_hidden[-1]

        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=max_length)
        mask = (torch.arange(max_length)[None, :] < lengths[:, None]).to(outputs.device).unsqueeze(-1)
        if self.config.pooling == "max":
            return outputs.masked_fill(~mask, float("-inf")).max(dim=1).values
        return (outputs * mask).sum(dim=1) / lengths.to(outputs.device).unsqueeze(1).to(outputs.dtype)


def combine_member_logits(member_logits: torch.Tensor) -> torch.Tensor:
    """Return the ensemble's logits from (members, batch, classes) logits: the log of the mean probabilities."""
    if member_logits.shape[0] == 1:
        return member_logits[0]
    log_probabilities = torch.log_softmax(member_logits, dim=-1)
    return torch.logsumexp(log_probabilities, dim=0) - math.log(member_logits.shape[0])
