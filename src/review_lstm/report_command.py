"""`review-lstm report`: compare this change's metrics and params with a base revision, in Markdown."""

import argparse
import logging
import sys
from pathlib import Path

from review_lstm.files import atomic_open
from review_lstm.report import WORKSPACE, compare, render_markdown

logger = logging.getLogger("report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", default="main",
                        help="git revision to compare with: a branch, tag or commit (default: main)")
    parser.add_argument("--target", default=WORKSPACE,
                        help="git revision of the change (default: the working tree, as after `dvc repro`)")
    parser.add_argument("--output", "-o", type=Path,
                        help="Markdown file to write (default: standard output); image links are relative to "
                             "its folder")


def run(args: argparse.Namespace) -> int:
    comparison = compare(args.base, args.target)
    report_folder = args.output.parent if args.output else Path.cwd()
    markdown = render_markdown(comparison, report_folder)

    if args.output is None:
        sys.stdout.write(markdown)
        return 0
    with atomic_open(args.output) as stream:
        stream.write(markdown)
    logger.info("wrote the report on %s vs %s to %s", "the working tree" if args.target == WORKSPACE else args.target,
                args.base, args.output)
    return 0
