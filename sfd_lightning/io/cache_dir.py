"""Where this user's computed results and file digests are kept between runs."""

import os

CACHE_ENV = "SFD_CACHE_DIR"


def user_cache_dir() -> str:
    """Where this user's computed results go (``$SFD_CACHE_DIR``, ``$XDG_CACHE_HOME/sfd-lightning``,
    ``~/.cache/...``)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sfd-lightning")
