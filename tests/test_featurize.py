"""The featurize step: spaCy normalisation, a vocabulary from train only, encoded splits."""

from collections import Counter

import numpy as np
from conftest import REPO_ROOT, load_params_file, write_split

from review_lstm.encoded import EncodedSplit
from review_lstm.featurize import featurize, text_settings_from
from review_lstm.params import FeaturizeParams, parse_section
from review_lstm.text import TextNormalizer
from review_lstm.vocab import EMPTY_ID, SPECIAL_TOKENS, UNKNOWN_ID, Vocabulary

# The project's defaults, with settings the assertions below rely on.
FEATURIZE: FeaturizeParams = parse_section("featurize", {
    **load_params_file(REPO_ROOT / "params.yaml")["featurize"],
    "lowercase": True, "lemmatize": True, "remove_stop_words": True, "keep_words": ["not", "no", "never", "n't"],
    "keep_punctuation": ["!", "?"], "max_vocab_size": 1000, "min_frequency": 1,
})


def normalize(text: str) -> list[str]:
    return next(TextNormalizer(text_settings_from(FEATURIZE)).normalize([text]))


def test_negations_survive_stop_word_removal():
    tokens = normalize("This is not good and I would never pay. It doesn't work")

    assert "not" in tokens
    assert "never" in tokens
    assert "this" not in tokens
    assert "and" not in tokens


def test_lookup_lemmas_and_lowercase():
    tokens = normalize("Crashing APPS were Deleting my files!!")

    assert tokens == ["crash", "app", "delete", "file", "!", "!"]


def test_emoji_kept_and_urls_replaced():
    tokens = normalize("visit https://example.com/help 😡")

    assert tokens == ["visit", "<url>", "😡"]


def test_text_of_stop_words_only_normalizes_to_nothing():
    vocabulary = Vocabulary.build(Counter(), 10, 1, text_settings_from(FEATURIZE))

    tokens = normalize("it is what it is.")

    assert tokens == []
    assert vocabulary.encode(tokens) == [EMPTY_ID]


def test_vocabulary_order_limits_and_unknown():
    counts = Counter({"great": 5, "bad": 5, "ok": 2, "rare": 1})

    vocabulary = Vocabulary.build(counts, max_size=len(SPECIAL_TOKENS) + 2, min_frequency=2,
                                  text_settings=text_settings_from(FEATURIZE))

    assert vocabulary.tokens == [*SPECIAL_TOKENS, "bad", "great"]
    assert vocabulary.encode(["great", "ok"]) == [vocabulary.token_to_id["great"], UNKNOWN_ID]


def test_vocabulary_comes_from_train_split_only(tmp_path):
    prepared = tmp_path / "prepared"
    write_split(prepared / "train.csv", [(2, 5, "great app"), (3, 1, "awful crash")])
    write_split(prepared / "validation.csv", [(4, 3, "mediocre layout")])
    write_split(prepared / "test.csv", [(5, 4, "superb great")])

    vocabulary = featurize(FEATURIZE, prepared, tmp_path / "features")

    assert "superb" not in vocabulary.token_to_id
    assert "mediocre" not in vocabulary.token_to_id
    test_split = EncodedSplit.load(tmp_path / "features" / "test")
    assert test_split.review(0).tolist() == [UNKNOWN_ID, vocabulary.token_to_id["great"]]
    assert test_split.labels.tolist() == [3]
    assert test_split.rows.tolist() == [5]


def test_encoded_split_offsets_match_reviews(tmp_path):
    prepared = tmp_path / "prepared"
    write_split(prepared / "train.csv", [(2, 5, "great app love it"), (3, 1, "the"), (4, 2, "bad sync")])
    write_split(prepared / "validation.csv", [(5, 3, "ok")])
    write_split(prepared / "test.csv", [(6, 4, "good")])

    featurize(FEATURIZE, prepared, tmp_path / "features")

    train = EncodedSplit.load(tmp_path / "features" / "train")
    assert train.lengths.tolist() == [3, 1, 2]
    assert train.review(1).tolist() == [EMPTY_ID]
    assert np.all(np.asarray(train.token_ids) >= 0)
