"""The ``sfd`` command: ``sfd fit|validate --config ...`` (LightningCLI) and ``sfd sample``."""
import sys
from typing import List, Optional

from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.cli import LightningCLI

from sfd_lightning.errors import ConfigError


class SFDLightningCLI(LightningCLI):
    """LightningCLI over any LightningModule and DataModule chosen by ``class_path`` in YAML."""


def run_lightning_cli(argv: List[str]) -> None:
    SFDLightningCLI(
        LightningModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=argv,
        save_config_kwargs={"overwrite": True},
    )


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "sample":
            from sfd_lightning.sample import main as sample_main

            sample_main(argv[1:])
        else:
            run_lightning_cli(argv)
    except ConfigError as err:
        print(f"sfd: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
