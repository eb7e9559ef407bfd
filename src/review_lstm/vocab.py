"""The vocabulary: token <-> id, built from the training split only."""

import json
from collections import Counter
from pathlib import Path

from review_lstm.errors import UserInputError
from review_lstm.files import write_json
from review_lstm.text import TextSettings

PAD_TOKEN = "<pad>"
UNKNOWN_TOKEN = "<unk>"
# Given to a review whose text normalises to no tokens (emoji-less punctuation, stop words only).
EMPTY_TOKEN = "<empty>"
SPECIAL_TOKENS = (PAD_TOKEN, UNKNOWN_TOKEN, EMPTY_TOKEN)
PAD_ID, UNKNOWN_ID, EMPTY_ID = range(len(SPECIAL_TOKENS))


class Vocabulary:
    """Token ids: the special tokens first, then tokens by descending training frequency."""

    def __init__(self, tokens: list[str], text_settings: TextSettings):
        if tuple(tokens[:len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}")
        self.tokens = tokens
        self.text_settings = text_settings
        self.token_to_id = {token: index for index, token in enumerate(tokens)}

    @classmethod
    def build(cls, counts: Counter, max_size: int, min_frequency: int, text_settings: TextSettings) -> "Vocabulary":
        """Keep the `max_size - 3` most frequent tokens seen at least `min_frequency` times."""
        if max_size <= len(SPECIAL_TOKENS):
            raise UserInputError(f"params.yaml: invalid value for 'featurize.max_vocab_size': {max_size}; expected "
                                 f"more than the {len(SPECIAL_TOKENS)} special tokens {', '.join(SPECIAL_TOKENS)}.")
        frequent = [(token, count) for token, count in counts.items()
                    if count >= min_frequency and token not in SPECIAL_TOKENS]
        frequent.sort(key=lambda item: (-item[1], item[0]))  # ties broken by token, for reproducibility
        kept = [token for token, _ in frequent[:max_size - len(SPECIAL_TOKENS)]]
        return cls(list(SPECIAL_TOKENS) + kept, text_settings)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> list[int]:
        """Map tokens to ids (unknown tokens to <unk>); an empty list becomes [<empty>]."""
        if not tokens:
            return [EMPTY_ID]
        lookup = self.token_to_id.get
        return [lookup(token, UNKNOWN_ID) for token in tokens]

    def save(self, path: Path) -> None:
        write_json(path, {"tokens": self.tokens, "text_settings": self.text_settings.as_dict()})

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        if not Path(path).is_file():
            raise UserInputError(f"{path}: vocabulary not found; run `dvc repro featurize` to build it.")
        content = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(content["tokens"], TextSettings.from_dict(content["text_settings"]))
