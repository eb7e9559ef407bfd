"""The classifier network and its initial word vectors."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, load_params_file
from review_lstm import embeddings
from review_lstm.embeddings import PPMI_WINDOW, cooccurrence_counts, ppmi_svd_vectors
from review_lstm.encoded import EncodedSplit, EncodedSplitWriter
from review_lstm.model import ModelConfig, ReviewClassifier
from review_lstm.params import TrainParams, parse_section
from review_lstm.training import build_model, class_weights
from review_lstm.vocab import PAD_ID

VOCAB_SIZE = 12
CONFIG = ModelConfig(vocab_size=VOCAB_SIZE, embedding_dim=6, hidden_size=5, num_layers=1, bidirectional=True,
                     dropout=0.3, pooling="max")
TRAIN: TrainParams = parse_section("train", {
    **load_params_file(REPO_ROOT / "params.yaml")["train"],
    "seed": 3, "embedding_dim": 6, "hidden_size": 5,
})


def encoded_split(reviews: list[list[int]]) -> EncodedSplit:
    writer = EncodedSplitWriter()
    writer.add(reviews, [0] * len(reviews), list(range(2, len(reviews) + 2)))
    return writer.finish()


def padded(reviews: list[list[int]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    token_ids = torch.full((len(reviews), width), PAD_ID, dtype=torch.int64)
    for row, review in enumerate(reviews):
        token_ids[row, :len(review)] = torch.tensor(review)
    return token_ids, torch.tensor([len(review) for review in reviews])


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_logits_ignore_padding(pooling):
    torch.manual_seed(0)
    model = ReviewClassifier(dataclasses.replace(CONFIG, pooling=pooling)).eval()
    reviews = [[3, 4, 5], [6, 7, 8, 9, 10]]

    narrow = model(*padded(reviews, width=5))
    wide = model(*padded(reviews, width=9))

    assert narrow.shape == (2, CONFIG.num_classes)
    assert torch.allclose(narrow, wide, atol=1e-6)


def test_cooccurrence_counts_stay_within_each_review():
    split = encoded_split([[3, 4], [5, 6]])

    counts = cooccurrence_counts(split, VOCAB_SIZE, window=4).toarray()

    assert counts[3, 4] == counts[4, 3] == 1.0
    assert counts[5, 6] == 1.0
    assert counts[4, 5] == 0.0  # neighbours in the flat token array, but in different reviews


def test_cooccurrence_counts_same_in_chunks(monkeypatch):
    rng = np.random.default_rng(0)
    split = encoded_split([rng.integers(3, VOCAB_SIZE, size=rng.integers(1, 15)).tolist() for _ in range(60)])
    whole = cooccurrence_counts(split, VOCAB_SIZE, window=3).toarray()

    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 7)
    chunked = cooccurrence_counts(split, VOCAB_SIZE, window=3).toarray()

    assert whole.sum() > 0
    assert np.allclose(whole, chunked, rtol=0, atol=1e-9)


def test_ppmi_vectors_place_interchangeable_words_together():
    # Tokens 3 and 4 appear in the same contexts (7, 8); token 5 in other ones (9, 10).
    rng = np.random.default_rng(0)
    reviews = []
    for _ in range(200):
        reviews.append([7, int(rng.choice([3, 4])), 8])
        reviews.append([9, 5, 10])
    split = encoded_split(reviews)

    vectors = ppmi_svd_vectors(split, VOCAB_SIZE, dimensions=4, window=2, seed=0)

    def cosine(first: int, second: int) -> float:
        a, b = vectors[first], vectors[second]
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    assert vectors.shape == (VOCAB_SIZE, 4)
    assert cosine(3, 4) > 0.9
    assert cosine(3, 4) > cosine(3, 5) + 0.5
    assert not vectors[PAD_ID].any()
    assert not vectors[11].any()  # never seen in training


def test_ppmi_vectors_are_reproducible():
    split = encoded_split([[3, 4, 5, 6], [4, 5, 7], [8, 9, 3, 4]] * 5)

    first = ppmi_svd_vectors(split, VOCAB_SIZE, dimensions=3, window=2, seed=1)
    second = ppmi_svd_vectors(split, VOCAB_SIZE, dimensions=3, window=2, seed=1)

    assert np.array_equal(first, second)


def test_build_model_starts_from_ppmi_vectors():
    split = encoded_split([[3, 4, 5, 6], [4, 5, 7], [8, 9, 3, 4]] * 5)
    expected = ppmi_svd_vectors(split, VOCAB_SIZE, TRAIN.embedding_dim, PPMI_WINDOW, seed=TRAIN.seed)

    ppmi_model = build_model(dataclasses.replace(TRAIN, embedding_init="ppmi"), VOCAB_SIZE, split)
    random_model = build_model(dataclasses.replace(TRAIN, embedding_init="random"), VOCAB_SIZE, split)

    assert torch.equal(ppmi_model.embedding.weight.detach(), torch.from_numpy(expected))
    assert not torch.equal(random_model.embedding.weight.detach(), torch.from_numpy(expected))


def test_square_root_class_weights():
    labels = np.array([4] * 8 + [0] * 2)

    full = class_weights(labels)
    root = class_weights(labels, power=0.5)

    assert root[0].item() == pytest.approx(full[0].item() ** 0.5)
    assert root[4].item() == pytest.approx(full[4].item() ** 0.5)
    assert root[1].item() == 1.0  # absent from training
