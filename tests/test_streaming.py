"""Streaming readers and writers: chunk boundaries, multi-line fields, bad rows, incremental outputs."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, load_params_file, write_reviews_csv, write_split

from review_lstm.data import DropLog, iter_reviews
from review_lstm.encoded import EncodedSplit, EncodedSplitWriter, open_split_writer
from review_lstm.errors import UserInputError
from review_lstm.featurize import featurize, iter_split_chunks
from review_lstm.params import FeaturizeParams, parse_section
from review_lstm.vocab import EMPTY_ID

FEATURIZE: FeaturizeParams = parse_section("featurize", {
    **load_params_file(REPO_ROOT / "params.yaml")["featurize"], "min_frequency": 1, "n_process": 1,
    "remove_stop_words": True,
})
SPLITS = ("train", "validation", "test")


MULTI_LINE_ROWS = [
    (2, 5, "first line\nsecond line, with a comma"),
    (3, 1, 'he said "crashes"\r\nthen\n\nleft'),
    (4, 3, "plain"),
    (5, 4, "ends with a newline\n"),
    (6, 2, "😡 emoji,\n\"quoted\""),
]


def test_split_chunks_keep_multi_line_fields_whole(tmp_path):
    path = write_split(tmp_path / "train.csv", MULTI_LINE_ROWS)

    chunks = list(iter_split_chunks(path, chunk_rows=2))

    assert [len(rows) for rows, _, _ in chunks] == [2, 2, 1]
    assert [row for rows, _, _ in chunks for row in rows] == [2, 3, 4, 5, 6]
    assert [score for _, scores, _ in chunks for score in scores] == [5, 1, 3, 4, 2]
    assert [text for _, _, texts in chunks for text in texts] == [text for _, _, text in MULTI_LINE_ROWS]


def test_split_chunks_read_very_long_review(tmp_path):
    long_text = "great app " * 20_000  # 200,000 characters, above the csv module's default limit
    path = write_split(tmp_path / "train.csv", [(2, 5, long_text), (3, 1, "bad")])

    chunks = list(iter_split_chunks(path, chunk_rows=1))

    assert chunks[0][2] == [long_text]
    assert chunks[1][2] == ["bad"]


@pytest.mark.parametrize("bad_row, expected", [
    (("x", 5, "text"), "row number 'x'"),
    ((7, 6, "text"), "score '6'"),
    ((7, "", "text"), "score ''"),
    ((7, 5), "2 fields instead of 3"),
])
def test_split_chunks_reject_bad_row_with_its_line(tmp_path, bad_row, expected):
    path = write_split(tmp_path / "train.csv", [*MULTI_LINE_ROWS[:2], bad_row])

    with pytest.raises(UserInputError) as error:
        list(iter_split_chunks(path, chunk_rows=2))

    assert str(path) in str(error.value)
    assert "line 8" in str(error.value)  # header 1, first review lines 2-3, second 4-7
    assert expected in str(error.value)
    assert "dvc repro prepare" in str(error.value)


def test_split_chunks_reject_missing_foreign_and_undecodable_files(tmp_path):
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("content,score\ngood,5\n", encoding="utf-8")
    undecodable = tmp_path / "undecodable.csv"
    undecodable.write_bytes(b"row,score,text\n2,5,good\n3,4,caf\xe9\n")

    with pytest.raises(UserInputError, match="not found"):
        list(iter_split_chunks(tmp_path / "missing.csv"))
    with pytest.raises(UserInputError, match="expected the header row,score,text"):
        list(iter_split_chunks(foreign))
    with pytest.raises(UserInputError, match="not valid UTF-8"):
        list(iter_split_chunks(undecodable))


def test_prepare_reading_across_sample_boundary(tmp_path):
    # Long multi-line reviews with 4-byte characters put record and character boundaries
    # across the 1 MiB blocks in which the reader checks the encoding.
    rows, expected = [], []
    for index in range(2_600):
        if index % 100 < 30:
            rows.append((f"bad score {index}", "great"))  # whole runs of rejected rows
            continue
        text = f"review {index} 😀 line one,\nline \"two\" {'é' * 700} {'ü' * (index % 7)}\nend {index}"
        rows.append((text, index % 5 + 1))
        expected.append((text, index % 5 + 1))
    path = write_reviews_csv(tmp_path / "reviews.csv", rows)
    assert path.stat().st_size > 2 * (1 << 20)
    drops = DropLog()

    reviews = list(iter_reviews(path, "content", "score", drops))

    assert [(review.text, review.score) for review in reviews] == expected
    assert drops.total == len(rows) - len(expected)
    assert reviews[0].row == 32  # the header is row 1 and rows 2-31 are rejected


def featurize_split_rows(tmp_path: Path, name: str, params: FeaturizeParams,
                         splits: dict[str, list[tuple[int, int, str]]]) -> Path:
    prepared = tmp_path / name / "prepared"
    for split, rows in splits.items():
        write_split(prepared / f"{split}.csv", rows)
    featurize(params, prepared, tmp_path / name / "features")
    return tmp_path / name / "features"


SPLIT_ROWS = {
    "train": [(2, 5, "great app, love it"), (3, 1, "it is"), (4, 1, "the and of"), (5, 2, "crashes all\nthe time"),
              (6, 4, "good app"), (7, 5, "great great app"), (8, 3, "was")],
    "validation": [(9, 3, "okay app"), (10, 1, "what is it")],
    "test": [(11, 4, "good but crashes"), (12, 5, "unseen words here")],
}


def test_featurize_output_does_not_depend_on_batch_size(tmp_path):
    tiny_batches = featurize_split_rows(tmp_path, "tiny", dataclasses.replace(FEATURIZE, batch_size=2), SPLIT_ROWS)
    one_batch = featurize_split_rows(tmp_path, "one", dataclasses.replace(FEATURIZE, batch_size=1000), SPLIT_ROWS)

    assert (tiny_batches / "vocab.json").read_bytes() == (one_batch / "vocab.json").read_bytes()
    for split in SPLITS:
        for array in ("token_ids", "offsets", "labels", "rows"):
            assert (tiny_batches / split / f"{array}.npy").read_bytes() == \
                (one_batch / split / f"{array}.npy").read_bytes(), (split, array)


def test_featurize_output_does_not_depend_on_n_process(tmp_path):
    one = featurize_split_rows(tmp_path, "one", dataclasses.replace(FEATURIZE, batch_size=2, n_process=1),
                               SPLIT_ROWS)
    two = featurize_split_rows(tmp_path, "two", dataclasses.replace(FEATURIZE, batch_size=2, n_process=2),
                               SPLIT_ROWS)

    assert (one / "vocab.json").read_bytes() == (two / "vocab.json").read_bytes()
    for split in SPLITS:
        for array in ("token_ids", "offsets", "labels", "rows"):
            assert (one / split / f"{array}.npy").read_bytes() == (two / split / f"{array}.npy").read_bytes()


def test_batch_of_reviews_without_tokens_gets_empty_marker(tmp_path):
    # With batches of 2, rows 3 and 4 form a batch in which no review has a token.
    features = featurize_split_rows(tmp_path, "empty", dataclasses.replace(FEATURIZE, batch_size=2), SPLIT_ROWS)

    train = EncodedSplit.load(features / "train")

    assert train.rows.tolist() == [2, 3, 4, 5, 6, 7, 8]
    assert train.review(1).tolist() == [EMPTY_ID]
    assert train.review(2).tolist() == [EMPTY_ID]
    assert train.review(6).tolist() == [EMPTY_ID]
    assert train.labels.tolist() == [4, 0, 0, 1, 3, 4, 2]
    assert EMPTY_ID not in train.review(0).tolist()
    validation = EncodedSplit.load(features / "validation")
    assert validation.review(1).tolist() == [EMPTY_ID]
    assert EMPTY_ID not in validation.review(0).tolist()


def test_split_writer_matches_in_memory_writer(tmp_path):
    reviews = [[5, 6, 7], [8], [9, 10], [11]]
    expected_writer = EncodedSplitWriter()
    expected_writer.add(reviews, [4, 0, 1, 2], [2, 3, 4, 5])
    expected = expected_writer.finish()

    with open_split_writer(tmp_path / "split") as writer:
        writer.add(np.array([5, 6, 7, 8]), np.array([3, 1]), np.array([4, 0]), np.array([2, 3]))
        writer.add(np.array([], dtype=np.int32), np.array([], dtype=np.int64), np.array([], dtype=np.int64),
                   np.array([], dtype=np.int64))
        writer.add(np.array([9, 10, 11]), np.array([2, 1]), np.array([1, 2]), np.array([4, 5]))
    written = EncodedSplit.load(tmp_path / "split")

    for name in ("token_ids", "offsets", "labels", "rows"):
        assert np.array_equal(getattr(written, name), getattr(expected, name)), name
        assert getattr(written, name).dtype == getattr(expected, name).dtype, name
    assert sorted(path.name for path in (tmp_path / "split").iterdir()) == \
        ["labels.npy", "offsets.npy", "rows.npy", "token_ids.npy"]


def test_split_writer_failure_keeps_previous_split(tmp_path):
    with open_split_writer(tmp_path / "split") as writer:
        writer.add(np.array([5]), np.array([1]), np.array([4]), np.array([2]))

    with pytest.raises(RuntimeError):
        with open_split_writer(tmp_path / "split") as writer:
            writer.add(np.array([6, 7]), np.array([2]), np.array([1]), np.array([3]))
            raise RuntimeError("interrupted")

    split = EncodedSplit.load(tmp_path / "split")
    assert split.token_ids.tolist() == [5]
    assert [path.name for path in tmp_path.iterdir()] == ["split"]


def test_split_writer_rejects_inconsistent_chunk(tmp_path):
    with pytest.raises(ValueError, match="inconsistent chunk"):
        with open_split_writer(tmp_path / "split") as writer:
            writer.add(np.array([5, 6]), np.array([1]), np.array([4]), np.array([2]))

    assert not (tmp_path / "split").exists()


def test_empty_split_is_written_and_loads(tmp_path):
    with open_split_writer(tmp_path / "split"):
        pass

    split = EncodedSplit.load(tmp_path / "split")

    assert len(split) == 0
    assert split.offsets.tolist() == [0]
