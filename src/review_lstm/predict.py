"""Predicting the star score of new review texts with a trained model.

`Predictor` loads the checkpoint and the vocabulary once. It turns texts into token
ids with the code that `featurize` uses (`clean_text`, `TextNormalizer`,
`Vocabulary.encode`) and runs the model with the batching that `evaluate` uses, so a
text gets the same probabilities here as in the pipeline.
"""

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from review_lstm.data import SCORES, clean_text
from review_lstm.encoded import EncodedSplit, EncodedSplitWriter
from review_lstm.errors import UserInputError
from review_lstm.inference import load_checkpoint, predict_logits
from review_lstm.model import ReviewClassifier
from review_lstm.text import TextNormalizer
from review_lstm.vocab import Vocabulary

DEFAULT_MODEL = Path("models/model.pt")
DEFAULT_VOCABULARY = Path("data/features/vocab.json")
DEFAULT_BATCH_SIZE = 256  # the same as evaluate.batch_size in params.yaml


class Prediction(NamedTuple):
    """The predicted star score and the probability of each score 1-5."""

    score: int
    probabilities: tuple[float, ...]


class Predictor:
    """A trained model with its vocabulary, ready to score lists of review texts."""

    def __init__(self, model: ReviewClassifier, vocabulary: Vocabulary, max_tokens: int,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        if model.config.vocab_size != len(vocabulary):
            raise UserInputError(f"the model expects a vocabulary of {model.config.vocab_size} tokens but the "
                                 f"vocabulary has {len(vocabulary)}; they come from different runs. "
                                 f"Run `dvc repro` so that both come from the same run.")
        if batch_size < 1:
            raise UserInputError(f"invalid batch size {batch_size}; expected an integer >= 1.")
        self.model = model.eval()
        self.vocabulary = vocabulary
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.normalizer = TextNormalizer(vocabulary.text_settings)

    @classmethod
    def load(cls, model_path: str | Path = DEFAULT_MODEL, vocab_path: str | Path = DEFAULT_VOCABULARY,
             batch_size: int = DEFAULT_BATCH_SIZE) -> "Predictor":
        """Load the checkpoint written by `train` and the vocabulary written by `featurize`."""
        model, checkpoint = load_checkpoint(Path(model_path))
        vocabulary = Vocabulary.load(Path(vocab_path))
        return cls(model, vocabulary, checkpoint["max_tokens"], batch_size)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Return the token ids of each text, before truncation to max_tokens.

        Raises ValueError for a text that is empty once control characters and
        surrounding white space are removed, because `prepare` drops such reviews
        from training, so the model has never seen one. Raises TypeError when `texts`
        is one string instead of a list of them, or contains something other than strings.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("expected a list of texts, got one string; pass [text] to score a single text.")
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {index} is {type(text).__name__} {text!r}, not a string.")
        cleaned = [clean_text(text) for text in texts]
        for index, text in enumerate(cleaned):
            if not text:
                raise ValueError(f"text {index} is empty or white space only; remove it before predicting.")
        return [self.vocabulary.encode(tokens) for tokens in self.normalizer.normalize(cleaned)]

    def predict_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Return the probabilities of scores 1-5 per text, shape (texts, 5), in input order."""
        return self.probabilities_of_token_ids(self.encode(texts))

    @torch.no_grad()
    def probabilities_of_token_ids(self, encoded: list[list[int]]) -> np.ndarray:
        """Return the probabilities of scores 1-5 per encoded text, in input order, in length-sorted batches."""
        if not encoded:
            return np.zeros((0, len(SCORES)), dtype=np.float32)
        split = as_unlabelled_split(encoded)
        logits = predict_logits(self.model, split, self.batch_size, self.max_tokens, torch.device("cpu"))
        return torch.softmax(torch.from_numpy(logits), dim=1).numpy()

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Return the predicted score and the five probabilities of each text, in input order."""
        probabilities = self.predict_probabilities(texts)
        return [Prediction(SCORES[int(row.argmax())], tuple(float(value) for value in row))
                for row in probabilities]


def as_unlabelled_split(encoded: list[list[int]]) -> EncodedSplit:
    """Wrap encoded texts as a split without labels, so that the pipeline's batching code accepts them."""
    writer = EncodedSplitWriter()
    placeholders = [0] * len(encoded)  # labels and file rows are unknown and unused here
    writer.add(encoded, placeholders, placeholders)
    return writer.finish()
