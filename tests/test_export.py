"""The ONNX export: same probabilities as PyTorch, metadata for serving, and the `export` stage."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import load_params_file, run_in, tiny_review_rows, write_params_file, write_reviews_csv

from review_lstm.encoded import EncodedSplit
from review_lstm.export import TOLERANCE, export_onnx, load_session, onnx_probabilities, read_metadata
from review_lstm.inference import load_checkpoint
from review_lstm.model import ModelConfig, ReviewClassifier
from review_lstm.text import TextSettings
from review_lstm.vocab import PAD_ID, SPECIAL_TOKENS, Vocabulary

SETTINGS = TextSettings(lowercase=True, lemmatize=False, remove_stop_words=False, keep_words=(),
                        keep_punctuation=("!",))
VOCABULARY = Vocabulary(list(SPECIAL_TOKENS) + [f"word{index}" for index in range(40)], SETTINGS)


def untrained_model(**overrides) -> ReviewClassifier:
    torch.manual_seed(0)
    config = {"vocab_size": len(VOCABULARY), "embedding_dim": 8, "hidden_size": 6, "num_layers": 1,
              "bidirectional": True, "dropout": 0.3, "pooling": "max", **overrides}
    return ReviewClassifier(ModelConfig(**config)).eval()


def padded_batch(lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Random token ids, padded to the longest review; no review is sorted by length."""
    rng = np.random.default_rng(1)
    token_ids = np.full((len(lengths), max(lengths)), PAD_ID, dtype=np.int64)
    for row, length in enumerate(lengths):
        token_ids[row, :length] = rng.integers(1, len(VOCABULARY), size=length)
    return token_ids, np.asarray(lengths, dtype=np.int64)


def torch_probabilities(model: ReviewClassifier, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(token_ids), torch.from_numpy(lengths))
    return torch.softmax(logits, dim=1).numpy()


@pytest.mark.parametrize("overrides", [
    {},
    {"pooling": "last"},
    {"pooling": "mean", "bidirectional": False},
    {"pooling": "max", "num_layers": 2},
    {"pooling": "last", "num_layers": 2, "bidirectional": False},
], ids=["bidirectional-max", "bidirectional-last", "forward-mean", "two-layers-max", "two-layers-forward-last"])
def test_onnx_matches_pytorch_mixed_lengths(tmp_path, overrides):
    model = untrained_model(**overrides)
    export_onnx(model, VOCABULARY, max_tokens=20, path=tmp_path / "model.onnx")
    session = load_session(tmp_path / "model.onnx")
    token_ids, lengths = padded_batch([5, 1, 17, 2, 9, 1, 20])

    actual = onnx_probabilities(session, token_ids, lengths)

    np.testing.assert_allclose(actual, torch_probabilities(model, token_ids, lengths), atol=TOLERANCE)


def test_onnx_batch_of_one_token(tmp_path):
    model = untrained_model()
    export_onnx(model, VOCABULARY, max_tokens=20, path=tmp_path / "model.onnx")
    token_ids, lengths = padded_batch([1])

    actual = onnx_probabilities(load_session(tmp_path / "model.onnx"), token_ids, lengths)

    np.testing.assert_allclose(actual, torch_probabilities(model, token_ids, lengths), atol=TOLERANCE)


def test_onnx_metadata_holds_vocabulary(tmp_path):
    export_onnx(untrained_model(), VOCABULARY, max_tokens=20, path=tmp_path / "model.onnx")

    vocabulary, max_tokens = read_metadata(load_session(tmp_path / "model.onnx"))

    assert vocabulary.tokens == VOCABULARY.tokens
    assert vocabulary.text_settings == SETTINGS
    assert max_tokens == 20


def test_export_stage_in_pipeline(project_copy: Path):
    write_reviews_csv(project_copy / "Data" / "review_data.csv", tiny_review_rows())
    params = load_params_file(project_copy / "params.yaml")
    params["train"]["epochs"] = 1
    write_params_file(project_copy / "params.yaml", params)

    result = run_in(project_copy, "dvc", "repro", "export")

    model, checkpoint = load_checkpoint(project_copy / "models/model.pt")
    session = load_session(project_copy / "models/model.onnx")
    test_split = EncodedSplit.load(project_copy / "data/features/test")
    lengths = np.minimum(test_split.lengths, checkpoint["max_tokens"])
    token_ids = np.full((len(test_split), int(lengths.max())), PAD_ID, dtype=np.int64)
    for index, length in enumerate(lengths):
        token_ids[index, :length] = test_split.review(index)[:length]
    assert "differ from PyTorch's by at most" in result.stderr
    np.testing.assert_allclose(onnx_probabilities(session, token_ids, lengths),
                               torch_probabilities(model, token_ids, lengths), atol=TOLERANCE)
