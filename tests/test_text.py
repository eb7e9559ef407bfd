"""Text normalisation: batches, worker processes and the lexical attributes they rely on."""

import dataclasses

import spacy
from conftest import REPO_ROOT, load_params_file

from review_lstm import text
from review_lstm.featurize import text_settings_from
from review_lstm.params import FeaturizeParams, parse_section
from review_lstm.text import BatchNormalizer, TextNormalizer, TextSettings

FEATURIZE: FeaturizeParams = parse_section("featurize", load_params_file(REPO_ROOT / "params.yaml")["featurize"])
SETTINGS = text_settings_from(FEATURIZE)
STOP_WORDS_REMOVED = dataclasses.replace(SETTINGS, remove_stop_words=True)

# Reviews with the cases that drop or replace tokens, and some without any output token.
TEXTS = [
    "Crashing APPS were Deleting my files!!",
    "visit https://example.com/help or mail help@example.com 😡",
    "it is what it is.",
    "",
    "   \n\t ",
    "This is not good and I would never pay. It doesn't work",
    "Great app,\nworks offline too?",
    "5 stars ★★★★★ 👍👍",
    "l'application est très bien, merci",
    "ok",
] * 3


def batches_of(texts: list[str], size: int) -> list[tuple[int, list[str]]]:
    return [(start, texts[start:start + size]) for start in range(0, len(texts), size)]


def normalize_with(n_process: int, batch_size: int) -> list[list[str]]:
    with BatchNormalizer(SETTINGS, batch_size, n_process) as normalizer:
        results = list(normalizer.map(batches_of(TEXTS, batch_size)))
    assert [key for key, _ in results] == [key for key, _ in batches_of(TEXTS, batch_size)]
    return [tokens for _, batch in results for tokens in batch.token_lists()]


def test_two_processes_give_same_tokens_as_one():
    one_process = normalize_with(n_process=1, batch_size=4)

    two_processes = normalize_with(n_process=2, batch_size=4)

    assert two_processes == one_process
    assert len(one_process) == len(TEXTS)


def test_batches_give_same_tokens_as_single_texts():
    normalizer = TextNormalizer(SETTINGS)

    one_by_one = [normalizer.normalize_batch([text]).token_lists()[0] for text in TEXTS]

    assert normalize_with(n_process=1, batch_size=7) == one_by_one
    assert list(TextNormalizer(SETTINGS, batch_size=3).normalize(TEXTS)) == one_by_one


def test_batch_lists_distinct_tokens_and_empty_reviews():
    batch = TextNormalizer(STOP_WORDS_REMOVED).normalize_batch(["app app APPS", "it is", "great app"])

    assert sorted(batch.tokens) == ["app", "great"]
    assert batch.lengths.tolist() == [3, 0, 2]
    assert batch.token_lists() == [["app", "app", "app"], [], ["great", "app"]]


def test_pieces_give_spacy_whole_text_tokens():
    tokenizer = spacy.blank("en").tokenizer
    texts = ["Don't   do it!!\nIt's 5.5/10, (really) great:)", "e-mail me\u00a0at 9am; U.S. users' \"quotes\"",
             "can't-stop won't\tstop... ok?!", "l'app coûte 3€ — trop", "emoji👍in😡text #tag @user 1,000"]
    expected = [[token.text for token in tokenizer(text) if not token.is_space] for text in texts]
    punctuation = {token.text for text in texts for token in tokenizer(text) if token.is_punct}
    keep_everything = TextSettings(lowercase=False, lemmatize=False, remove_stop_words=False, keep_words=(),
                                   keep_punctuation=tuple(sorted(punctuation)))

    tokens = list(TextNormalizer(keep_everything).normalize(texts))

    assert tokens == expected


def test_full_piece_cache_is_emptied_not_grown(monkeypatch):
    expected = list(TextNormalizer(SETTINGS).normalize(TEXTS))
    monkeypatch.setattr(text, "MAX_CACHED_PIECES", 5)
    normalizer = TextNormalizer(SETTINGS)

    tokens = list(normalizer.normalize(TEXTS))

    assert tokens == expected
    assert len(normalizer._piece_outputs) <= 5


def test_lexical_attributes_match_full_spacy():
    reference = spacy.blank("en").vocab
    normalizer = TextNormalizer(SETTINGS)
    words = ["https://example.com/a?b=1", "www.example.org", "help@example.com", "!", "?", "...", "\n", "  ",
             "Crashing", "APPS", "😡", "n't", "3.5", "★"]
    list(normalizer.normalize(words))  # adds the words to the normalizer's own vocabulary

    for word in words:
        lexeme, expected = normalizer.nlp.vocab[word], reference[word]
        assert lexeme.like_url == expected.like_url, word
        assert lexeme.like_email == expected.like_email, word
        assert lexeme.is_punct == expected.is_punct, word
        assert lexeme.is_space == expected.is_space, word
        assert lexeme.lower_ == expected.lower_, word


def test_workers_read_few_batches_ahead():
    pulled = []

    def batches():
        for number in range(40):
            pulled.append(number)
            yield number, ["great app"]

    with BatchNormalizer(SETTINGS, batch_size=1, n_process=2) as normalizer:
        results = normalizer.map(batches())
        first_key, _ = next(results)
        pulled_before_first_result = len(pulled)
        remaining = [key for key, _ in results]

    assert first_key == 0
    assert pulled_before_first_result <= 2 * 2
    assert remaining == list(range(1, 40))


def test_dvc_tracks_every_featurize_key_that_changes_tokens():
    dvc_stages = load_params_file(REPO_ROOT / "dvc.yaml")["stages"]
    tracked = {key.removeprefix("featurize.") for key in dvc_stages["featurize"]["params"]}
    speed_only = {"batch_size", "n_process"}

    assert tracked == set(FeaturizeParams.__dataclass_fields__) - speed_only
