"""The one exception family a user sees: each message names the file (or input) and the problem."""


class PhotospecError(Exception):
    """An error the user can act on; the CLI prints it as a single line and exits non-zero."""


class BadInputError(PhotospecError, ValueError):
    """An input file or array is missing, malformed or physically impossible."""
