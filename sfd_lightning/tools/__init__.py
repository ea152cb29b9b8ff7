"""Tools beside the library, run with ``python -m sfd_lightning.tools.<name>``: ``bench`` and ``bench_load``
(iteration speed; ``bench --reference`` times the reference's own loop through ``bench_reference`` and
``reference_loop``), ``gpu_check`` (the CUDA smoke test), ``random_pipelines`` (random SD folders for
the GPU check and tests), ``reference_order`` (SFD in the reference's pass order, for comparisons)."""
