"""The command line every tool starts from."""

import argparse


def tool_parser(module: str, doc: str, config_help: str) -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.<module>``: its docstring as the help, and ``--config``."""
    p = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{module}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default="configs/digits_forget_2stage.yaml", help=config_help)
    return p
