"""The one exception type entry points turn into a one-line message and a non-zero exit."""


class JukiError(Exception):
    """A user-facing error: bad input, a missing file, an unwritable path ..."""
