"""Tools beside the library, run with ``python -m sfd_lightning.tools.<name>``: ``bench`` and ``bench_load``
(iteration speed; ``bench --reference`` times the reference's own loop through ``bench_reference`` and
``reference_loop``), ``gpu_check`` (the CUDA smoke test), ``random_pipelines`` (random SD folders for
the GPU check and tests), ``reference_order`` (SFD in the reference's pass order, for comparisons)."""
import argparse


def tool_parser(module: str, doc: str, config_help: str) -> argparse.ArgumentParser:
    """The command line of ``python -m sfd_lightning.tools.<module>``: its docstring as the help, and ``--config``."""
    p = argparse.ArgumentParser(prog=f"python -m sfd_lightning.tools.{module}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/digits_forget_2stage.yaml", help=config_help)
    return p

