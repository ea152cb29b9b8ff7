"""The one error type users see for bad input: it names the field and what is allowed."""


class ConfigError(Exception):
    """Bad user input, reported as ``<field>: <what is wrong and what is allowed>``."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")
