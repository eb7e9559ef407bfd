"""`review-lstm quality`: test metrics of the LSTM and the linear reference over several seeded splits."""

import argparse
import logging
from pathlib import Path

from review_lstm.errors import UserInputError
from review_lstm.files import atomic_open
from review_lstm.params import DEFAULT_PARAMS_FILE, load_section
from review_lstm.quality import format_table, run_quality

logger = logging.getLogger("review_lstm.quality")

DEFAULT_SEEDS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="review CSV in the google-play-scraper layout (default: 'data.raw' of the params file)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"number of stratified splits, with split seeds prepare.seed, prepare.seed + 1, ... "
                             f"(default: {DEFAULT_SEEDS})")
    parser.add_argument("--params", type=Path, default=Path(DEFAULT_PARAMS_FILE),
                        help=f"params file with the settings of every stage (default: {DEFAULT_PARAMS_FILE})")
    parser.add_argument("--output", type=Path, default=None,
                        help="also write the table as Markdown to this file")
    parser.add_argument("--verbose", action="store_true",
                        help="show every stage's log lines, such as the loss of each epoch")


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise UserInputError(f"invalid value for --seeds: {args.seeds}; expected at least 1 split.")
    data_path = args.data if args.data is not None else Path(load_section("data", args.params).raw)
    if not data_path.is_file():
        raise UserInputError(f"{data_path}: review file not found; pass a review CSV with --data.")
    train_params = load_section("train", args.params)
    if train_params.processes > 1:
        logger.info("train.processes is %d, but this command trains in one process", train_params.processes)

    # Without --verbose, only this command's progress lines and the stages' warnings are shown.
    package_logger = logging.getLogger("review_lstm")
    previous_levels = package_logger.level, logger.level
    if not args.verbose:
        package_logger.setLevel(logging.WARNING)
        logger.setLevel(logging.INFO)
    try:
        results = run_quality(data_path, args.params, args.seeds)
    finally:
        package_logger.setLevel(previous_levels[0])
        logger.setLevel(previous_levels[1])

    report = (f"Test metrics on {data_path} over {len(results)} stratified splits, params from {args.params}. "
              f"The linear reference is TF-IDF word 1-2-grams with class-balanced logistic regression, "
              f"fitted on the same training split.\n\n{format_table(results)}")
    print(report, end="")
    if args.output is not None:
        with atomic_open(args.output) as stream:
            stream.write(report)
        logger.info("wrote %s", args.output)
    return 0
