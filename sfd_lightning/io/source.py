"""A file the user named, with the option that named it: what every error about the file is reported under."""

from dataclasses import dataclass

from sfd_lightning.errors import ConfigError


@dataclass(frozen=True)
class Source:
    """``path``, given by the option ``field`` (``model.teacher_ckpt``, ``--ckpt``): errors about the file are one
    line, ``<field>: <what is wrong with path>``."""

    path: str
    field: str

    def error(self, detail: str) -> ConfigError:
        """The one-line error about this file: ``detail`` under the option that named it."""
        return ConfigError(self.field, detail)
