"""ONNX export of a trained model, for serving with ONNX Runtime instead of PyTorch.

The ONNX graph takes padded token ids (batch, time) and the true lengths (batch),
both int64, and returns the logits and the probabilities of scores 1-5. The caller
truncates each review to `max_tokens` token ids and pads with `pad_id`. The model's
metadata stores both values, the vocabulary and its text settings, so the .onnx file
is all that serving needs besides the text normalisation (review_lstm.text, spaCy).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from review_lstm.batches import inference_batches
from review_lstm.data import SCORES
from review_lstm.encoded import EncodedSplit
from review_lstm.files import atomic_path
from review_lstm.model import ReviewClassifier
from review_lstm.text import TextSettings
from review_lstm.vocab import EMPTY_ID, PAD_ID, UNKNOWN_ID, Vocabulary

OPSET_VERSION = 17
INPUT_NAMES = ["token_ids", "lengths"]
OUTPUT_NAMES = ["logits", "probabilities"]
TOLERANCE = 1e-5  # the largest accepted difference between ONNX Runtime's and PyTorch's probabilities


class _ExportableClassifier(nn.Module):
    """The classifier followed by a softmax, in a form that the TorchScript-based exporter accepts.

    With pooling "last" the exporter fails, because the LSTM's packed outputs go unused.
    This variant takes the final hidden states from the padded outputs instead: the
    forward direction's output at each review's last token, and the backward direction's
    output at its first token. These are the same numbers as the packed LSTM's h_n.
    """

    def __init__(self, model: ReviewClassifier):
        super().__init__()
        self.model = model

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.model.config.pooling == "last":
            logits = self._logits_of_last_outputs(token_ids, lengths)
        else:
            logits = self.model(token_ids, lengths)
        return logits, torch.softmax(logits, dim=1)

    def _logits_of_last_outputs(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        model = self.model
        embedded = model.embedding(token_ids)  # dropout is off in eval mode
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_outputs, _ = model.lstm(packed)
        outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=token_ids.shape[1])

        hidden_size = model.config.hidden_size
        last_positions = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
        features = outputs.gather(1, last_positions).squeeze(1)[:, :hidden_size]
        if model.config.bidirectional:
            features = torch.cat([features, outputs[:, 0, hidden_size:]], dim=1)
        return model.head(features)


def export_onnx(model: ReviewClassifier, vocabulary: Vocabulary, max_tokens: int, path: Path) -> None:
    """Write `model` as an ONNX file at `path`, atomically, with the vocabulary in its metadata."""
    # The exporter sets the wrapper's train/eval mode back afterwards, and with it the mode of `model`.
    wrapper = _ExportableClassifier(model).eval()
    example_ids = torch.tensor([[UNKNOWN_ID, EMPTY_ID, UNKNOWN_ID], [EMPTY_ID, PAD_ID, PAD_ID]], dtype=torch.int64)
    example_lengths = torch.tensor([3, 1], dtype=torch.int64)

    with atomic_path(path) as temporary:
        # NOTE: the torch.export-based exporter (the default since PyTorch 2.9) fails on packed
        # sequences (tried with PyTorch 2.13 and onnxscript 0.7.2). So this uses the older
        # TorchScript-based one, which maps them to ONNX's LSTM with sequence_lens. PyTorch marks
        # that exporter as deprecated.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # lengths never exceed the padded time steps
            # The exported initial LSTM states take their batch size from the input; the tests use other sizes.
            warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
            torch.onnx.export(
                wrapper, (example_ids, example_lengths), str(temporary),
                dynamo=False, opset_version=OPSET_VERSION, input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
                dynamic_axes={"token_ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                              "logits": {0: "batch"}, "probabilities": {0: "batch"}},
            )
        exported = onnx.load(str(temporary))
        _add_metadata(exported, vocabulary, max_tokens)
        onnx.checker.check_model(exported)
        onnx.save(exported, str(temporary))


def _add_metadata(exported: onnx.ModelProto, vocabulary: Vocabulary, max_tokens: int) -> None:
    exported.doc_string = ("Star score (1-5) of an app review. Inputs: token_ids (batch, time) int64 padded "
                           "with pad_id, lengths (batch) int64 >= 1. Outputs: logits and probabilities (batch, 5).")
    metadata = {
        "max_tokens": str(max_tokens),
        "scores": json.dumps(list(SCORES)),
        "pad_id": str(PAD_ID),
        "unknown_id": str(UNKNOWN_ID),
        "empty_id": str(EMPTY_ID),
        "vocabulary": json.dumps({"tokens": vocabulary.tokens, "text_settings": vocabulary.text_settings.as_dict()}),
    }
    onnx.helper.set_model_props(exported, metadata)


def load_session(path: Path) -> onnxruntime.InferenceSession:
    """Open an exported model with ONNX Runtime on the CPU."""
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def read_metadata(session: onnxruntime.InferenceSession) -> tuple[Vocabulary, int]:
    """Return the vocabulary and max_tokens stored in an exported model."""
    metadata = session.get_modelmeta().custom_metadata_map
    stored = json.loads(metadata["vocabulary"])
    vocabulary = Vocabulary(stored["tokens"], TextSettings.from_dict(stored["text_settings"]))
    return vocabulary, int(metadata["max_tokens"])


def onnx_probabilities(session: onnxruntime.InferenceSession, token_ids: np.ndarray,
                       lengths: np.ndarray) -> np.ndarray:
    """Run the exported model on one padded batch and return its probabilities, shape (batch, 5)."""
    feeds = {"token_ids": np.asarray(token_ids, dtype=np.int64), "lengths": np.asarray(lengths, dtype=np.int64)}
    return session.run(["probabilities"], feeds)[0]


@torch.no_grad()
def max_difference(model: ReviewClassifier, session: onnxruntime.InferenceSession, split: EncodedSplit,
                   batch_size: int, max_tokens: int) -> float:
    """Return the largest absolute difference between PyTorch's and ONNX Runtime's probabilities on `split`."""
    model.eval()
    largest = 0.0
    for batch in inference_batches(split, batch_size, max_tokens):
        expected = torch.softmax(model(batch.token_ids, batch.lengths), dim=1).numpy()
        actual = onnx_probabilities(session, batch.token_ids.numpy(), batch.lengths.numpy())
        largest = max(largest, float(np.abs(expected - actual).max()))
    return largest
