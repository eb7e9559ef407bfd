"""The LSTM classifier: embedding, (bi)LSTM over packed sequences, pooling, linear head."""

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

    def as_dict(self) -> dict:
        return asdict(self)


class ReviewClassifier(nn.Module):
    """Map padded token ids and lengths to one logit per star score (no softmax)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
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

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return logits of shape (batch, num_classes); `lengths` must be on the CPU."""
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
