"""The exceptions for mistakes a user can fix and for a stop request (SIGTERM)."""


class UserInputError(Exception):
    """An input problem that the user can fix; its message says what and how.

    Stage scripts print the message alone, with no traceback, and exit with status 1.
    """


class StopRequested(KeyboardInterrupt):
    """A SIGTERM turned into an exception, so that cleanup code runs as for Ctrl-C.

    It derives from KeyboardInterrupt so that `except Exception` blocks let it through.
    """

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name
