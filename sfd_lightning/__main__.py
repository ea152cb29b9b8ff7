"""``python -m sfd_lightning``: the ``sfd`` command."""

from sfd_lightning.cli import main

if __name__ == "__main__":  # importing this module (a crafted class_path can name it) must not run the CLI
    main()
