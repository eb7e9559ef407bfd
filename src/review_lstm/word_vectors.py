"""Word vectors from a file the user supplies, in GloVe's text format.

Each line contains a word and its values, separated by single spaces:
`good 0.12 -0.4 ...`. A first line of two integers (word count and dimensions, the
word2vec text header) is skipped. Only the vocabulary's words are kept, so a file of
millions of words is read line by line without loading it whole.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from review_lstm.errors import UserInputError
from review_lstm.params import TrainParams
from review_lstm.vocab import SPECIAL_TOKENS

logger = logging.getLogger(__name__)

PARAM = "train.pretrained_vectors"


@dataclass
class PretrainedVectors:
    """The vectors of the vocabulary words found in a vectors file."""

    token_ids: np.ndarray  # int64, vocabulary ids of the words found
    vectors: np.ndarray  # float32, (len(token_ids), dimensions), scaled to standard deviation 1


def vectors_for(params: TrainParams, tokens: list[str]) -> PretrainedVectors | None:
    """Return the vectors of 'train.pretrained_vectors' for the vocabulary `tokens`, or None when it is null."""
    if params.pretrained_vectors is None:
        return None
    return load_pretrained_vectors(params.pretrained_vectors, tokens, params.embedding_dim)


def load_pretrained_vectors(path: str | Path, tokens: list[str], dimensions: int) -> PretrainedVectors:
    """Read the vectors of `tokens` (a vocabulary, special tokens first) from a GloVe-format file."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: word vectors file not found, or not a file ('{PARAM}'); give the path of "
                             f"a GloVe-format text file, or set '{PARAM}' to null.")

    id_of_token = {token: index for index, token in enumerate(tokens) if token not in SPECIAL_TOKENS}
    found: dict[int, np.ndarray] = {}
    lines_read = 0
    with open(path, "rb") as stream:
        for line_number, raw_line in enumerate(stream, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise UserInputError(f"{path}, line {line_number}: not valid UTF-8 ({error.reason} at byte "
                                     f"{error.start + 1} of the line); save the word vectors file as UTF-8.") from None
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if line_number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                continue  # word2vec header
            if parts == [""]:
                continue
            word, values = _parse_line(path, line_number, parts, dimensions, first=not lines_read)
            lines_read += 1
            token_id = id_of_token.get(word)
            if token_id is not None and token_id not in found:
                found[token_id] = values

    if not lines_read:
        raise UserInputError(f"{path}: the word vectors file has no vectors ('{PARAM}').")

    token_ids = np.array(sorted(found), dtype=np.int64)
    vectors = np.zeros((len(token_ids), dimensions), dtype=np.float32)
    if found:
        # The same scale as the PPMI vectors and PyTorch's default initialisation.
        stacked = np.stack([found[token_id] for token_id in token_ids.tolist()])
        vectors[:] = stacked / max(float(stacked.std()), 1e-8)
    logger.info("word vectors: %d of %d vocabulary words found in %s", len(token_ids), len(id_of_token), path)
    if not found:
        logger.warning("no vocabulary word is in %s; the embedding layer starts without its vectors. Check that "
                       "the file's words are lowercase like the vocabulary ('featurize.lowercase').", path)
    return PretrainedVectors(token_ids=token_ids, vectors=vectors)


def _parse_line(path: Path, line_number: int, parts: list[str], dimensions: int,
                first: bool) -> tuple[str, np.ndarray]:
    """Split one line into its word and `dimensions` values; a word may itself contain spaces."""
    # The first line sets the file's dimensions; later lines may have words with spaces in them.
    if (first and len(parts) != dimensions + 1) or len(parts) <= dimensions:
        raise UserInputError(f"{path}, line {line_number}: {len(parts) - 1} values after the word, but "
                             f"'train.embedding_dim' is {dimensions}; set 'train.embedding_dim' to the file's "
                             f"number of dimensions.")
    try:
        values = np.array(parts[-dimensions:], dtype=np.float64)
    except ValueError:
        raise UserInputError(f"{path}, line {line_number}: expected a word and {dimensions} numbers "
                             f"('train.embedding_dim'), got {' '.join(parts)[:80]!r}.") from None
    if not np.isfinite(values).all():
        raise UserInputError(f"{path}, line {line_number}: invalid value inf or NaN in the vector; fix or remove "
                             f"that line.")
    return " ".join(parts[:-dimensions]), values
