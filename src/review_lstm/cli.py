"""The `review-lstm` command: one subcommand per task, each defined in its own module.

A subcommand module provides `add_arguments(parser)` and `run(args) -> int`.
"""

import argparse
import importlib
import logging
import sys

from review_lstm.errors import UserInputError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="review-lstm", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{args.command}: %(message)s", stream=sys.stderr)
    logging.getLogger("spacy").setLevel(logging.WARNING)
    try:
        return args.run(args)
    except UserInputError as error:
        logging.getLogger(args.command).error("error: %s", error)
        return 1
    except KeyboardInterrupt:
        logging.getLogger(args.command).error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
