"""The `review-lstm` command: one subcommand per task, each defined in its own module.

A subcommand module provides `add_arguments(parser)` and `run(args) -> int`.
"""

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
from typing import Iterator

from review_lstm.errors import StopRequested, UserInputError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("review_lstm.predict_command", "Predict the star score of reviews with the trained model."),
    "report": ("review_lstm.report_command", "Write a Markdown report of metrics and params against a base revision."),
    "plots": ("review_lstm.plots_page", "Render the DVC plots to an HTML page that works offline."),
    "quality": ("review_lstm.quality_command", "Tabulate LSTM and linear reference test metrics over seeded splits."),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the `selected` subcommand's module is imported, since some import torch."""
    parser = argparse.ArgumentParser(prog="review-lstm", description="Predict, report on and evaluate the review star-score LSTM.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            module.add_arguments(subparser)
            subparser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    selected = next((argument for argument in arguments if argument in COMMANDS), None)
    args = build_parser(selected).parse_args(arguments)
    logging.basicConfig(level=logging.INFO, format=f"{args.command}: %(message)s", stream=sys.stderr)
    logging.getLogger("spacy").setLevel(logging.WARNING)
    logger = logging.getLogger(args.command)
    try:
        with _sigterm_raises_stop_requested():
            return args.run(args)
    except UserInputError as error:
        logger.error("error: %s", error)
        return 1
    except StopRequested as error:
        logger.error("interrupted by %s", error.signal_name)
        return 143
    except KeyboardInterrupt:
        logger.error("interrupted by Ctrl-C (SIGINT)")
        return 130


@contextlib.contextmanager
def _sigterm_raises_stop_requested() -> Iterator[None]:
    """Turn SIGTERM into StopRequested for the block, as stage scripts do, then restore the old handler.

    Python accepts signal handlers only in the main thread, so elsewhere SIGTERM keeps its handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_stop_requested)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _raise_stop_requested(signal_number: int, frame) -> None:
    raise StopRequested(signal.Signals(signal_number).name)


if __name__ == "__main__":
    sys.exit(main())
