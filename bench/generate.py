"""Make large review exports from a small one: sampling with replacement plus light perturbation.

Each output row copies a random input row and edits its text with two to four small
changes: drop, swap or repeat a word, a one-letter typo, a changed case, a trailing
"!". Most rows are then distinct, which matters because `prepare` drops exact
duplicates. Scores stay as they are. The output has the input's columns and a new unique `reviewId`.
"""

import csv
import logging
import random
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

LETTERS = "abcdefghijklmnopqrstuvwxyz"
PROGRESS_EVERY_ROWS = 200_000


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Return the header and every row of a CSV export."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        return header, list(reader)


def perturb(text: str, rng: random.Random) -> str:
    """Return `text` with two to four random small edits."""
    words = text.split(" ")
    for _ in range(rng.randint(2, 4)):
        words = EDITS[rng.randrange(len(EDITS))](words, rng)
    return " ".join(words)


def _drop_word(words: list[str], rng: random.Random) -> list[str]:
    if len(words) < 3:
        return words
    del words[rng.randrange(len(words))]
    return words


def _swap_words(words: list[str], rng: random.Random) -> list[str]:
    if len(words) < 2:
        return words
    index = rng.randrange(len(words) - 1)
    words[index], words[index + 1] = words[index + 1], words[index]
    return words


def _repeat_word(words: list[str], rng: random.Random) -> list[str]:
    index = rng.randrange(len(words))
    words.insert(index, words[index])
    return words


def _typo(words: list[str], rng: random.Random) -> list[str]:
    index = rng.randrange(len(words))
    word = words[index]
    if len(word) < 4:
        return words
    position = rng.randrange(1, len(word))
    words[index] = word[:position] + rng.choice(LETTERS) + word[position + 1:]
    return words


def _change_case(words: list[str], rng: random.Random) -> list[str]:
    index = rng.randrange(len(words))
    words[index] = words[index].upper() if rng.random() < 0.5 else words[index].capitalize()
    return words


def _add_exclamation(words: list[str], rng: random.Random) -> list[str]:
    words[-1] = words[-1] + "!"
    return words


EDITS = (_drop_word, _swap_words, _repeat_word, _typo, _typo, _change_case, _add_exclamation)


def generate(source: Path, destination: Path, rows: int, seed: int = 0) -> Path:
    """Write `rows` perturbed copies of random rows of `source` to `destination`."""
    header, source_rows = read_rows(source)
    text_index = header.index("content")
    id_index = header.index("reviewId")
    rng = random.Random(seed)
    destination.parent.mkdir(parents=True, exist_ok=True)

    with open(destination, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for number in range(rows):
            row = list(source_rows[rng.randrange(len(source_rows))])
            row[id_index] = f"generated-{number}"
            row[text_index] = perturb(row[text_index], rng)
            writer.writerow(row)
            if (number + 1) % PROGRESS_EVERY_ROWS == 0:
                logger.info("generated %d of %d rows", number + 1, rows)
    return destination
