"""Beside the library, outside the wheel, run from a source tree with ``python -m benchmarks.<name>``:
``bench`` and ``bench_load`` (iteration speed; ``bench --reference`` times the reference's own loop through
``bench_reference`` and ``reference_loop``), ``bench_memory``, ``bench_judges``, and the GPU check (``gpu_steps``
runs ``gpu_env``, ``gpu_check``, ``gpu_iteration`` and ``gpu_demo``; ``gpu_report`` writes its tables).

The random pipelines some of them build (``random_pipelines``, ``random_families``) are the tests' own, in
``tests/helpers``, which is put on the path here as ``setup.cfg`` puts it for pytest."""

import os
import sys

from sfd_lightning.runtime.openmp import prefer_passive_wait

prefer_passive_wait()  # before torch loads, as the sfd command does: the timings are those of sfd's own runs

HELPERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "helpers")
if HELPERS not in sys.path:
    sys.path.append(HELPERS)
