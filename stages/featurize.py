"""Stage featurize: normalise text with spaCy, build the vocabulary on train, encode all splits."""

from pathlib import Path

from review_lstm.featurize import featurize
from review_lstm.params import load_section
from review_lstm.stage import run_stage

PREPARED_DIR = Path("data/prepared")
FEATURES_DIR = Path("data/features")


def main() -> None:
    settings = load_section("featurize")
    featurize(settings, PREPARED_DIR, FEATURES_DIR)


if __name__ == "__main__":
    run_stage("featurize", main)
