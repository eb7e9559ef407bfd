"""Pre-trained word vectors from a GloVe-format file: reading, bad files, and the model's starting vectors."""

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, load_params_file, run_in, write_params_file

from review_lstm.encoded import EncodedSplit
from review_lstm.errors import UserInputError
from review_lstm.params import TrainParams, parse_section
from review_lstm.training import build_model
from review_lstm.vocab import SPECIAL_TOKENS
from review_lstm.word_vectors import load_pretrained_vectors, vectors_for

TOKENS = list(SPECIAL_TOKENS) + ["good", "bad", "app", "crash"]
TRAIN: TrainParams = parse_section("train", {
    **load_params_file(REPO_ROOT / "params.yaml")["train"],
    "seed": 5, "embedding_dim": 3, "hidden_size": 4, "ensemble_size": 2,
})


def write_vectors(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def encoded_split(reviews: list[list[int]]) -> EncodedSplit:
    offsets = np.cumsum([0] + [len(review) for review in reviews])
    return EncodedSplit(token_ids=np.concatenate(reviews).astype(np.int32), offsets=offsets,
                        labels=np.zeros(len(reviews), dtype=np.int64), rows=np.arange(len(reviews)))


def test_keeps_vocabulary_words_only(tmp_path):
    path = write_vectors(tmp_path / "vectors.txt", ["good 1 2 3", "movie 9 9 9", "crash -1 0 1", "<pad> 5 5 5"])

    pretrained = load_pretrained_vectors(path, TOKENS, dimensions=3)

    assert pretrained.token_ids.tolist() == [TOKENS.index("good"), TOKENS.index("crash")]
    raw = np.array([[1, 2, 3], [-1, 0, 1]], dtype=np.float64)
    np.testing.assert_allclose(pretrained.vectors, raw / raw.std(), rtol=1e-6)


def test_skips_word2vec_header_and_reads_words_with_spaces(tmp_path):
    path = write_vectors(tmp_path / "vectors.txt", ["2 3", "bad 1 1 2", "new app 0 1 0"])
    tokens = TOKENS + ["new app"]

    pretrained = load_pretrained_vectors(path, tokens, dimensions=3)

    assert pretrained.token_ids.tolist() == [tokens.index("bad"), tokens.index("new app")]


def test_first_occurrence_of_a_word_wins(tmp_path):
    path = write_vectors(tmp_path / "vectors.txt", ["app 1 0 0", "app 0 0 1"])

    pretrained = load_pretrained_vectors(path, TOKENS, dimensions=3)

    assert pretrained.vectors[0].argmax() == 0


BAD_FILES = [
    pytest.param(["good 1 2"], "line 1: 2 values after the word, but 'train.embedding_dim' is 3",
                 id="fewer dimensions"),
    pytest.param(["good 1 2 3 4"], "line 1: 4 values after the word", id="more dimensions"),
    pytest.param(["good 1 2 3", "bad 1 x 3"], "line 2: expected a word and 3 numbers", id="not a number"),
    pytest.param(["good 1 2 3", "bad 1"], "line 2: 1 values after the word", id="short line"),
    pytest.param(["good 1 nan 3"], "line 1: invalid value inf or NaN in the vector", id="nan"),
    pytest.param([], "the word vectors file has no vectors", id="empty file"),
]


@pytest.mark.parametrize(("lines", "message"), BAD_FILES)
def test_bad_vectors_file_is_named_with_its_line(tmp_path, lines, message):
    path = write_vectors(tmp_path / "vectors.txt", lines)

    with pytest.raises(UserInputError, match=message) as raised:
        load_pretrained_vectors(path, TOKENS, dimensions=3)
    assert str(path) in str(raised.value)


def test_invalid_utf8_is_reported(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"good 1 2 3\nb\xffd 1 2 3\n")

    with pytest.raises(UserInputError, match="line 2: not valid UTF-8"):
        load_pretrained_vectors(path, TOKENS, dimensions=3)


def test_missing_file_names_the_parameter(tmp_path):
    with pytest.raises(UserInputError, match="train.pretrained_vectors"):
        load_pretrained_vectors(tmp_path / "absent.txt", TOKENS, dimensions=3)
    with pytest.raises(UserInputError, match="not a file"):
        load_pretrained_vectors(tmp_path, TOKENS, dimensions=3)


def test_no_vocabulary_word_found_warns(tmp_path, caplog):
    path = write_vectors(tmp_path / "vectors.txt", ["Movie 1 2 3"])

    pretrained = load_pretrained_vectors(path, TOKENS, dimensions=3)

    assert len(pretrained.token_ids) == 0
    assert "no vocabulary word is in" in caplog.text


def test_param_is_optional_and_checked():
    values = load_params_file(REPO_ROOT / "params.yaml")["train"]

    assert parse_section("train", {**values, "pretrained_vectors": None}).pretrained_vectors is None
    assert vectors_for(parse_section("train", {**values, "pretrained_vectors": None}), TOKENS) is None
    with pytest.raises(UserInputError, match="'train.pretrained_vectors': 5; expected a non-empty string or null"):
        parse_section("train", {**values, "pretrained_vectors": 5})


@pytest.mark.parametrize("embedding_init", ["random", "ppmi"])
def test_model_starts_from_file_vectors(tmp_path, embedding_init):
    path = write_vectors(tmp_path / "vectors.txt", ["good 1 2 3", "crash -1 0 1"])
    params = dataclasses.replace(TRAIN, embedding_init=embedding_init, pretrained_vectors=str(path))
    split = encoded_split([[3, 4, 5, 6], [4, 5, 6], [6, 3, 4]] * 4)
    pretrained = vectors_for(params, TOKENS)

    torch.manual_seed(params.seed)
    with_file = build_model(params, len(TOKENS), split, pretrained)
    torch.manual_seed(params.seed)
    without_file = build_model(dataclasses.replace(params, pretrained_vectors=None), len(TOKENS), split)

    found = torch.from_numpy(pretrained.token_ids)
    others = torch.tensor([TOKENS.index("bad"), TOKENS.index("app")])
    for member, plain_member in zip(with_file.ensemble_members(), without_file.ensemble_members()):
        weights, plain_weights = member.embedding.weight.detach(), plain_member.embedding.weight.detach()
        assert torch.equal(weights[found], torch.from_numpy(pretrained.vectors))
        assert torch.equal(weights[others], plain_weights[others])


def test_train_stage_tracks_vectors_file(reproduced_tiny_project, tmp_path):
    project = shutil.copytree(reproduced_tiny_project, tmp_path / "project", symlinks=True)
    dimensions = load_params_file(project / "params.yaml")["train"]["embedding_dim"]
    vectors = project / "Data" / "vectors" / "tiny.txt"
    write_vectors(vectors, [f"great {' '.join(['0.5'] * dimensions)}", f"crash {' '.join(['-0.5'] * dimensions)}"])
    params = load_params_file(project / "params.yaml")
    params["train"]["pretrained_vectors"] = "Data/vectors/tiny.txt"
    write_params_file(project / "params.yaml", params)

    output = run_in(project, "dvc", "repro")

    log = output.stdout + output.stderr
    assert "Running stage 'train'" in log
    assert "Stage 'featurize' didn't change" in log
    assert "word vectors: 2 of" in log
    assert "found in Data/vectors/tiny.txt" in log
    assert "Data/vectors" not in run_in(project, "dvc", "status").stdout

    write_vectors(vectors, [f"great {' '.join(['0.1'] * dimensions)}"])
    status = run_in(project, "dvc", "status").stdout
    assert "train:" in status
    assert "modified:           Data/vectors" in status
