"""Running a stage script: logging set-up, and one clear line for user errors, Ctrl-C and SIGTERM."""

import errno
import logging
import signal
import sys
from typing import Callable

from review_lstm.errors import StopRequested, UserInputError

# Operating-system errors that the user fixes outside the code, with what to do.
_FIXABLE_OS_ERRORS = {
    errno.ENOSPC: "free some disk space",
    errno.EDQUOT: "free some disk space",
    errno.EACCES: "check the file's permissions",
    errno.EPERM: "check the file's permissions",
    errno.EROFS: "make the folder writable",
}


def run_stage(name: str, main: Callable[[], None], restart_note: str = "") -> None:
    """Call `main`; print a user error or an interruption as one line and exit non-zero.

    The exit status is 1 for a user error, 130 for Ctrl-C (SIGINT) and 143 for SIGTERM.
    `restart_note` is added to the interruption message, e.g. how the stage resumes.
    """
    logging.basicConfig(level=logging.INFO, format=f"{name}: %(message)s", stream=sys.stderr)
    logging.getLogger("spacy").setLevel(logging.WARNING)  # its INFO lines are about spaCy internals
    logger = logging.getLogger(name)
    signal.signal(signal.SIGTERM, _raise_stop_requested)

    try:
        main()
    except UserInputError as error:
        logger.error("error: %s", error)
        sys.exit(1)
    except OSError as error:
        advice = _FIXABLE_OS_ERRORS.get(error.errno)
        if advice is None:
            raise
        place = f"{error.filename}: " if error.filename else ""
        logger.error("error: %s%s; %s and run `dvc repro` again.", place, error.strerror, advice)
        sys.exit(1)
    except KeyboardInterrupt as error:
        signal_name = error.signal_name if isinstance(error, StopRequested) else "Ctrl-C (SIGINT)"
        logger.error("interrupted by %s before the stage finished. Run `dvc repro` to run it again.%s",
                     signal_name, f" {restart_note}" if restart_note else "")
        sys.exit(143 if isinstance(error, StopRequested) else 130)


def _raise_stop_requested(signal_number: int, frame) -> None:
    raise StopRequested(signal.Signals(signal_number).name)
