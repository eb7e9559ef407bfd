"""The exception for mistakes a user can fix (bad input file, bad parameter)."""


class UserInputError(Exception):
    """An input problem that the user can fix; its message says what and how.

    Stage scripts print the message alone, with no traceback, and exit with status 1.
    """
