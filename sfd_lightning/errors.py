"""The one error type users see for bad input: it names the field and what is allowed."""


class ConfigError(Exception):
    """Bad user input, reported as ``<field>: <what is wrong and what is allowed>``."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def describe(err: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` of an exception (``Type`` alone when it has no message), for a
    one-line error about a failure inside a library."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0][:limit]}" if lines else type(err).__name__
