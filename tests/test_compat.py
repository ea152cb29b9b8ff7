"""Every former import path in ``sfd_lightning.compat.SHIMS`` still imports, names the very object at its new path,
and passes the allow-list that rebuilds stored networks and checks a checkpoint's stored class paths."""

import importlib
import re

import pytest
from torch import nn

from sfd_lightning.compat import SHIMS
from sfd_lightning.io.allow_list import check_class_path, resolve_class
from sfd_lightning.io.source import Source


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("old", sorted(SHIMS))
def test_an_old_path_resolves_to_the_object_at_its_new_path(old):
    new, _ = SHIMS[old]
    assert resolve(old) is resolve(new)


@pytest.mark.parametrize("old", sorted(SHIMS))
def test_an_old_path_says_when_it_may_go(old):
    new, drop = SHIMS[old]
    assert new != old and new.startswith("sfd_lightning.") and re.fullmatch(r"drop in \d+\.\d+", drop)


@pytest.mark.parametrize("old", sorted(SHIMS))
def test_the_allow_list_accepts_an_old_path(old):
    """A file that stores the old path passes the check made before anything is imported (a resumed checkpoint's
    hyper-parameters); a network class stored under it is rebuilt as the class at its new path."""
    source = Source("stored.ckpt", "field")
    assert check_class_path(old, source) == tuple(old.rsplit(".", 1))
    new, _ = SHIMS[old]
    if isinstance(resolve(new), type) and issubclass(resolve(new), nn.Module):
        assert resolve_class(old, source) is resolve_class(new, source)
