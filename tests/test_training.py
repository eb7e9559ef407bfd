"""The train step: raw logits into the loss, variable-length batches, train-only imbalance handling."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, hinted_split, load_params_file
from ruamel.yaml import YAML

from review_lstm.batches import inference_batches, training_batches
from review_lstm.encoded import EncodedSplit
from review_lstm.params import TrainParams, parse_section
from review_lstm.training import checkpoint_summary, class_weights, epoch_order, member_best_epochs, train

# The project's defaults, with a tiny, fast model.
TRAIN: TrainParams = parse_section("train", {
    **load_params_file(REPO_ROOT / "params.yaml")["train"],
    "seed": 1, "epochs": 3, "batch_size": 8, "lr": 0.01, "max_tokens": 12, "embedding_dim": 16, "hidden_size": 8,
    "num_layers": 1, "early_stopping_patience": 0, "device": "cpu",
})
VOCAB_SIZE = 40


def synthetic_split(reviews: int, seed: int) -> EncodedSplit:
    """Reviews whose token ids hint at their label, with lengths from 1 to 30."""
    return hinted_split(reviews, seed, VOCAB_SIZE, max_length=30, label_probabilities=[0.15, 0.05, 0.1, 0.15, 0.55])


def test_batches_pad_to_longest_review_not_fixed_length():
    split = synthetic_split(64, seed=0)

    widths = [batch.token_ids.shape[1] for batch in inference_batches(split, batch_size=8, max_tokens=600)]

    assert max(widths) == int(split.lengths.max())
    assert min(widths) < max(widths)


def test_batches_truncate_to_max_tokens():
    split = synthetic_split(64, seed=0)
    rng = np.random.default_rng(0)

    batches = list(training_batches(split, rng.permutation(len(split)), 8, max_tokens=5, rng=rng))

    assert all(batch.token_ids.shape[1] <= 5 for batch in batches)
    assert sorted(np.concatenate([batch.indices for batch in batches]).tolist()) == list(range(len(split)))


def test_model_outputs_raw_logits_not_probabilities():
    split = synthetic_split(32, seed=0)

    result = train(dataclasses.replace(TRAIN, epochs=1), split, split, VOCAB_SIZE, torch.device("cpu"))
    batch = next(inference_batches(split, 32, 12))
    logits = result.model(batch.token_ids, batch.lengths)

    assert logits.shape == (32, 5)
    assert not torch.allclose(logits.sum(dim=1), torch.ones(32))
    assert (logits < 0).any()


def test_class_weights_are_balanced_from_given_labels():
    labels = np.array([4] * 8 + [0] * 2)

    weights = class_weights(labels)

    assert weights[4].item() == pytest.approx(10 / (2 * 8))
    assert weights[0].item() == pytest.approx(10 / (2 * 2))
    assert weights[1].item() == 1.0  # absent from training


def test_oversampling_balances_classes():
    labels = np.array([4] * 900 + [0] * 100)

    order = epoch_order(labels, "oversample", np.random.default_rng(0))

    share_of_minority = np.mean(labels[order] == 0)
    assert 0.4 < share_of_minority < 0.6
    assert len(order) == len(labels)


def test_training_is_deterministic_for_a_seed():
    train_split, validation_split = synthetic_split(120, seed=1), synthetic_split(40, seed=2)

    first = train(TRAIN, train_split, validation_split, VOCAB_SIZE, torch.device("cpu"))
    second = train(TRAIN, train_split, validation_split, VOCAB_SIZE, torch.device("cpu"))

    assert first.history == second.history
    for name, tensor in first.best_state.items():
        assert torch.equal(tensor, second.best_state[name])


def test_best_epoch_has_highest_validation_macro_f1():
    train_split, validation_split = synthetic_split(160, seed=3), synthetic_split(60, seed=4)

    result = train(dataclasses.replace(TRAIN, epochs=5, ensemble_size=1), train_split, validation_split, VOCAB_SIZE,
                   torch.device("cpu"))

    scores = [record.validation_macro_f1 for record in result.history]
    assert result.best_epoch == 1 + scores.index(max(scores))
    assert max(scores) > 0.3  # the token ids carry the label, so the model must learn something


def test_ensemble_members_keep_own_best_epochs():
    train_split, validation_split = synthetic_split(160, seed=3), synthetic_split(60, seed=4)

    params = dataclasses.replace(TRAIN, epochs=5, ensemble_size=3)
    result = train(params, train_split, validation_split, VOCAB_SIZE, torch.device("cpu"))

    member_scores = [[record.member_macro_f1s[index] for record in result.history] for index in range(3)]
    expected_epochs = [1 + scores.index(max(scores)) for scores in member_scores]
    assert member_best_epochs(result.history, 3) == expected_epochs
    assert result.best_epoch == max(expected_epochs)
    assert checkpoint_summary(result, params)["member_best_epochs"] == expected_epochs


@pytest.mark.parametrize("written", ["1e-06", "1e-3", "0.003", "3"])
def test_learning_rate_written_by_dvc_loads_as_float(written):
    values = YAML(typ="safe", pure=True).load(f"lr: {written}\n")
    raw = {**dataclasses.asdict(TRAIN), "lr": values["lr"]}

    settings = parse_section("train", raw)

    assert isinstance(settings.lr, float)
    assert settings.lr == float(written)
