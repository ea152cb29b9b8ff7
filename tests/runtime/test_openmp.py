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


@pytest.mark.parametrize("chosen, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_the_package_sets_it_before_torch_loads(chosen, expected):
    env = subprocess_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    if chosen:
        env["OMP_WAIT_POLICY"] = chosen
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, sfd_lightning; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [expected, "False"]
