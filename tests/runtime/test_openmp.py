"""OpenMP threads wait passively under sfd unless the user chose a policy, and the choice precedes torch."""

import subprocess
import sys

import pytest
from project import subprocess_env

from sfd_lightning.runtime.openmp import prefer_passive_wait


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, {"OMP_WAIT_POLICY": "PASSIVE"}),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "ACTIVE"}),
        ({"GOMP_SPINCOUNT": "300000"}, {"GOMP_SPINCOUNT": "300000"}),
    ],
)
def test_passive_unless_the_user_chose(env, expected):
    prefer_passive_wait(env)
    assert env == expected


def run_python(code: str, chosen=None):
    env = subprocess_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    if chosen:
        env["OMP_WAIT_POLICY"] = chosen
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_importing_the_package_leaves_the_environment_alone():
    code = (
        "import os, sys; before = dict(os.environ); import sfd_lightning; from sfd_lightning import ConfigError; "
        "print(dict(os.environ) == before, 'torch' in sys.modules)"
    )
    assert run_python(code).split() == ["True", "False"]


# what OMP_WAIT_POLICY is when torch is first imported, then after the command line is
SPY = """
import os, sys
seen = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not seen:
            seen.append(os.environ.get("OMP_WAIT_POLICY"))
sys.meta_path.insert(0, Spy())
import sfd_lightning.cli
print(seen[0], os.environ["OMP_WAIT_POLICY"])
"""


@pytest.mark.parametrize("chosen, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_command_line_sets_it_before_torch_loads(chosen, expected):
    """``sfd`` (the console script imports ``sfd_lightning.cli``) and ``python -m sfd_lightning`` (whose
    ``__main__`` imports it) choose the policy before torch loads OpenMP."""
    assert run_python(SPY, chosen).split() == [expected, expected]
