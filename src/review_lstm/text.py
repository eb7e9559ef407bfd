"""Text normalisation with spaCy: tokens, lookup lemmas, stop words minus negations.

Training (`featurize`) and prediction share this class, so a review is turned into
the same tokens in both. The settings travel with the vocabulary file.
"""

import logging
from dataclasses import dataclass
from typing import Iterable, Iterator

import spacy

logger = logging.getLogger(__name__)

URL_TOKEN = "<url>"
EMAIL_TOKEN = "<email>"


@dataclass(frozen=True)
class TextSettings:
    """How raw text becomes tokens; stored with the vocabulary for prediction."""

    lowercase: bool
    lemmatize: bool
    remove_stop_words: bool
    keep_words: tuple[str, ...]
    keep_punctuation: tuple[str, ...]

    @classmethod
    def from_dict(cls, values: dict) -> "TextSettings":
        return cls(lowercase=values["lowercase"], lemmatize=values["lemmatize"],
                   remove_stop_words=values["remove_stop_words"], keep_words=tuple(values["keep_words"]),
                   keep_punctuation=tuple(values["keep_punctuation"]))

    def as_dict(self) -> dict:
        return {"lowercase": self.lowercase, "lemmatize": self.lemmatize,
                "remove_stop_words": self.remove_stop_words, "keep_words": list(self.keep_words),
                "keep_punctuation": list(self.keep_punctuation)}


class TextNormalizer:
    """Turn review texts into lists of normalised tokens.

    spaCy's blank English tokenizer splits the text. The lookup lemmatizer's table
    (from spacy-lookups-data) and spaCy's English stop words then decide each token's
    output. That decision depends only on the token's text, so it is cached per
    distinct token: the per-token cost stays close to the tokenizer's own.
    """

    def __init__(self, settings: TextSettings, batch_size: int = 512):
        self.settings = settings
        self.batch_size = batch_size
        self.nlp = spacy.blank("en")
        self._lemmas = self._load_lemma_table() if settings.lemmatize else None
        keep = {word.lower() for word in settings.keep_words}
        self._stop_words = frozenset(self.nlp.Defaults.stop_words) - keep if settings.remove_stop_words else frozenset()
        self._keep_punctuation = frozenset(settings.keep_punctuation)
        self._cache: dict[int, str | None] = {}

    def _load_lemma_table(self):
        lemmatizer = self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self.nlp.initialize()
        return lemmatizer.lookups.get_table("lemma_lookup")

    def normalize(self, texts: Iterable[str]) -> Iterator[list[str]]:
        """Yield the token list of each text, in order; a text may yield an empty list."""
        for doc in self.nlp.tokenizer.pipe(texts, batch_size=self.batch_size):
            tokens = []
            for token in doc:
                output = self._cache.get(token.orth, "")
                if output == "":
                    output = self._normalize_token(token)
                    self._cache[token.orth] = output
                if output is not None:
                    tokens.append(output)
            yield tokens

    def _normalize_token(self, token) -> str | None:
        """Return the token's output text, or None to drop it. Depends only on token.text."""
        if token.is_space:
            return None
        if token.like_url:
            return URL_TOKEN
        if token.like_email:
            return EMAIL_TOKEN
        if token.is_punct and token.text not in self._keep_punctuation:
            return None

        text = token.lower_ if self.settings.lowercase else token.text
        if token.lower_ in self._stop_words:
            return None
        if self._lemmas is not None:
            text = self._lemmas.get(text, text)
        return text
