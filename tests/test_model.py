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
from review_lstm.training import EpochRecord, TrainResult, build_model, class_weights, keep_best_weights, member_loss
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

    ppmi_model = build_model(dataclasses.replace(TRAIN, embedding_init="ppmi", ensemble_size=2), VOCAB_SIZE, split)
    random_model = build_model(dataclasses.replace(TRAIN, embedding_init="random", ensemble_size=1), VOCAB_SIZE,
                               split)

    for member in ppmi_model.ensemble_members():
        assert torch.equal(member.embedding.weight.detach(), torch.from_numpy(expected))
    assert not torch.equal(random_model.embedding.weight.detach(), torch.from_numpy(expected))


def test_square_root_class_weights():
    labels = np.array([4] * 8 + [0] * 2)

    full = class_weights(labels)
    root = class_weights(labels, power=0.5)

    assert root[0].item() == pytest.approx(full[0].item() ** 0.5)
    assert root[4].item() == pytest.approx(full[4].item() ** 0.5)
    assert root[1].item() == 1.0  # absent from training


def test_ensemble_logits_average_member_probabilities():
    torch.manual_seed(0)
    model = ReviewClassifier(dataclasses.replace(CONFIG, ensemble_size=3)).eval()
    token_ids, lengths = padded([[3, 4, 5], [6, 7]], width=4)

    member_logits = model(token_ids, lengths, per_member=True)
    logits = model(token_ids, lengths)

    assert member_logits.shape == (3, 2, CONFIG.num_classes)
    expected = torch.softmax(member_logits, dim=-1).mean(dim=0)
    assert torch.allclose(torch.softmax(logits, dim=-1), expected, atol=1e-6)
    assert torch.allclose(torch.softmax(member_logits[1], dim=-1),
                          torch.softmax(model.ensemble_members()[1](token_ids, lengths), dim=-1))


def test_single_network_keeps_its_layout():
    model = ReviewClassifier(CONFIG)
    token_ids, lengths = padded([[3, 4, 5]], width=3)

    assert model.ensemble_members() == [model]
    assert "embedding.weight" in model.state_dict()
    assert model(token_ids, lengths, per_member=True).shape == (1, 1, CONFIG.num_classes)


def test_ensemble_members_start_from_different_weights():
    torch.manual_seed(0)
    model = ReviewClassifier(dataclasses.replace(CONFIG, ensemble_size=2))
    first, second = model.ensemble_members()

    assert not torch.equal(first.lstm.weight_ih_l0, second.lstm.weight_ih_l0)


def test_member_loss_is_mean_of_member_losses():
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0]))
    member_logits = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 4, 1, 4])

    loss = member_loss(criterion, member_logits, labels)

    expected = torch.stack([criterion(logits, labels) for logits in member_logits]).mean()
    assert torch.allclose(loss, expected)


def test_each_member_keeps_its_best_epoch():
    model = ReviewClassifier(dataclasses.replace(CONFIG, ensemble_size=2))
    first, second = model.ensemble_members()
    result = TrainResult(model=model, best_state={}, best_epoch=0)

    improved_by_epoch = []
    for epoch, member_scores in enumerate([[0.5, 0.2], [0.4, 0.6], [0.5, 0.3]], start=1):
        with torch.no_grad():
            for member in (first, second):
                member.head.bias.fill_(float(epoch))
        result.history.append(EpochRecord(epoch, 1.0, 1.0, 0.5, member_scores))
        improved_by_epoch.append(keep_best_weights(result, model))

    assert improved_by_epoch == [2, 1, 0]  # epoch 3 only ties member 0's best
    assert result.best_epoch == 2
    assert torch.all(result.best_state["members.0.head.bias"] == 1.0)
    assert torch.all(result.best_state["members.1.head.bias"] == 2.0)
