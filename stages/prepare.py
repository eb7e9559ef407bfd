"""Stage prepare: clean the raw review export and split it into train, validation and test."""

from pathlib import Path

from review_lstm.params import load_section
from review_lstm.prepare import prepare
from review_lstm.stage import run_stage

PREPARED_DIR = Path("data/prepared")
REPORT = Path("reports/prepare.json")


def main() -> None:
    data = load_section("data")
    settings = load_section("prepare")
    prepare(data, settings, PREPARED_DIR, REPORT)


if __name__ == "__main__":
    run_stage("prepare", main)
