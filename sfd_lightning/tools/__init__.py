"""Tools beside the library, run with ``python -m sfd_lightning.tools.<name>``: ``bench`` and ``bench_load``
(iteration speed), ``gpu_check`` (the CUDA smoke test), ``random_pipelines`` (random SD folders for
the GPU check and tests)."""
