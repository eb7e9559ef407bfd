"""Running a stage script: logging set-up, and one clear line for user errors and Ctrl-C."""

import logging
import sys
from typing import Callable

from review_lstm.errors import UserInputError


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Call `main`; print a user error or an interruption as one line and exit non-zero."""
    logging.basicConfig(level=logging.INFO, format=f"{name}: %(message)s", stream=sys.stderr)
    logging.getLogger("spacy").setLevel(logging.WARNING)  # its INFO lines are about spaCy internals
    logger = logging.getLogger(name)
    try:
        main()
    except UserInputError as error:
        logger.error("error: %s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        logger.error("interrupted; no output of this stage was replaced. Run `dvc repro` again to redo it.")
        sys.exit(130)
