"""The ``sfd`` command: ``sfd fit|validate --config ...`` (LightningCLI), ``sfd sample``, ``sfd eval``, ``sfd export``,
``sfd attack``, ``sfd compare``, ``sfd sweep``, ``sfd benchmark``.

Bad input ends in one line, ``sfd: error: <field>: <what is wrong>``, before any training starts.
"""

# ruff: noqa: E402  (the command's imports load torch, after OpenMP's wait policy is chosen)
from sfd_lightning.runtime.openmp import prefer_passive_wait

prefer_passive_wait()  # the command starts here (sfd, python -m sfd_lightning): sleeping threads on shared CPUs

import argparse
import importlib
import os
import re
import sys
from typing import List, Optional

import torch
from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from sfd_lightning.callbacks.interrupt import InterruptCallback, exit_status, graceful_sigint
from sfd_lightning.callbacks.progress_bar import SFDProgressBar
from sfd_lightning.callbacks.progress_lines import ProgressLines
from sfd_lightning.callbacks.sample_writer import SampleWriter
from sfd_lightning.diffusion.denoiser import check_adapter_config
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.allow_list import check_stored_hyperparameters
from sfd_lightning.io.checkpoint import read_checkpoint
from sfd_lightning.io.resume import check_model_settings, check_unfinished
from sfd_lightning.io.run_dir import run_dir
from sfd_lightning.io.run_lock import check_run_folder, claim_run_folder, is_rank_zero
from sfd_lightning.io.source import Source
from sfd_lightning.io.yaml_file import read_yaml_mapping
from sfd_lightning.models.lora import check_base_precision
from sfd_lightning.models.nonfinite import NonFiniteError
from sfd_lightning.models.sfd_settings import LossWeights
from sfd_lightning.runtime.quiet import silence_known_noise

DESCRIPTION = """Score Forgetting Distillation on PyTorch Lightning.
Training and evaluation loops (LightningCLI): sfd fit|validate|predict --config C.yaml [--ckpt_path CKPT]
(validate: the config's metrics and report on a checkpoint; predict: its samples to an .npz).
Also: sfd sample (samples of a checkpoint to .npz), sfd eval (FID, IS, KID, precision/recall and
forgetting metrics of samples), sfd export (the generator as a folder with a model card, or to the Hub),
sfd attack (attacks on the forgetting, judged independently), sfd compare (SFD and the
baselines side by side),
sfd sweep (hyper-parameter sweeps from a W&B spec), sfd benchmark (the nudity, identity and COCO suites of
Stable Diffusion forgetting, beside the teacher); each with --help.
Options also come from the environment: PL_FIT__TRAINER__MAX_EPOCHS=3 (the command line wins)."""

_BOILERPLATE = (
    "Parser key",
    "Does not validate",
    "Subtypes:",
    "Errors:",
    "- Problem with given class_path",
    "- Expected a <class 'NoneType'>",
    "Given value",
    "Problem with given class_path",
)


def condense_parse_error(message: str) -> ConfigError:
    """Turn jsonargparse's nested, multi-line parse error into one ConfigError naming the field."""
    keys = re.findall(r'Parser key "([^"]+)"', message)
    lines = [line.strip() for line in message.splitlines()]
    details = [line for line in lines if line and not line.startswith(_BOILERPLATE)]
    detail = details[0] if details else lines[0]
    unknown = re.match(r"Option '([^']+)' is not accepted", detail)
    unrecognized = re.match(r"unrecognized arguments: --([\w.]+)", detail)
    if unknown:
        keys.append(unknown.group(1))
        detail = "unknown option (see `sfd fit --help` or --print_config for the allowed ones)"
    elif unrecognized:
        keys = [unrecognized.group(1).split("=")[0]]
        detail = "unknown option (see `sfd fit --help` for the allowed ones)"
    return ConfigError(".".join(keys) or "arguments", detail.lstrip("- "))


def find_config_error(err: BaseException) -> Optional[ConfigError]:
    """The ConfigError behind an exception that jsonargparse wrapped, if any."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, ConfigError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def dotted(config: dict, prefix: str = "") -> dict:
    """A nested config as one level of dotted names, ``{"model.init_args.alpha": 1.2, ...}``: the names a
    sweep spec and the command line use, so each option has one name in the run config."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(dotted(value, name + "."))
        else:
            flat[name] = value
    return flat


class LoggedConfig(SaveConfigCallback):
    """On rank 0: the resolved config to ``config.yaml`` in the run folder and to the logger (W&B's run
    config), one dotted name per option."""

    def __init__(
        self,
        parser,
        config,
        config_filename: str = "config.yaml",
        overwrite: bool = True,
        multifile: bool = False,
        save_to_log_dir: bool = False,
    ):
        super().__init__(parser, config, config_filename, overwrite, multifile, save_to_log_dir=False)

    def save_config(self, trainer, pl_module, stage: str) -> None:
        folder = run_dir(trainer)
        os.makedirs(folder, exist_ok=True)
        self.parser.save(
            self.config,
            os.path.join(folder, self.config_filename),
            skip_none=False,
            overwrite=True,
            multifile=self.multifile,
        )
        if trainer.logger is not None:
            trainer.logger.log_hyperparams(dotted(self.config.clone().as_dict()))


def forgets(loss_weights) -> bool:
    """Whether an SFD model with these (parsed) loss weights forgets: ``LossWeights.forgets``."""
    return LossWeights(**(loss_weights.as_dict() if loss_weights is not None else {})).forgets


class SFDLightningCLI(LightningCLI):
    """LightningCLI over any LightningModule and DataModule chosen by ``class_path`` in YAML."""

    def __init__(self, args: Optional[List[str]] = None, run: bool = True, **kwargs):
        kwargs.setdefault("save_config_callback", LoggedConfig)
        kwargs.setdefault("trainer_defaults", {"callbacks": [InterruptCallback(), ProgressLines()]})  # in every run
        self.run_claim = None  # a logger-less run's hold on its folder (run_lock), from parsing to the run's end
        try:
            super().__init__(
                LightningModule,
                LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                args=args,
                run=run,
                parser_kwargs={"exit_on_error": False, "default_env": True, "description": DESCRIPTION},
                **kwargs,
            )
        finally:
            if self.run_claim is not None:
                self.run_claim.release()

    def add_arguments_to_parser(self, parser) -> None:
        """What the noise and prompt data modules need of the model, linked from its arguments (where both
        have them): the number of classes, the forget label, and whether it forgets at all (two-stage SFD's
        stage 1 does not)."""
        for name in ("num_classes", "forget_label"):
            parser.link_arguments(f"model.init_args.{name}", f"data.init_args.{name}", apply_on="parse")
        parser.link_arguments(
            "model.init_args.loss_weights", "data.init_args.forgets", compute_fn=forgets, apply_on="parse"
        )

    @staticmethod
    def subcommands():
        """LightningCLI's, less ``test``: there is no held-out data; ``validate`` evaluates a checkpoint."""
        commands = dict(LightningCLI.subcommands())
        commands.pop("test", None)
        return commands

    def parse_arguments(self, parser, args) -> None:
        try:
            super().parse_arguments(parser, args)
        except argparse.ArgumentError as err:
            raise condense_parse_error(str(err)) from None
        # Missing or corrupt --ckpt_path: one clear line, before LightningCLI or training reads it.
        # Mapped, not read: Lightning loads it afterwards.
        subcommand = self.config.get("subcommand")
        config = self.config.get(subcommand) if subcommand else self.config
        path = config.get("ckpt_path")
        if "weights_only" in config and config.get("weights_only") is None:
            config["weights_only"] = True  # Lightning's None unpickles a checkpoint given by URL
        self.resume_checkpoint = None
        if path and str(path) not in ("last", "best", "hpc", "registry") and "://" not in str(path):
            source = Source(str(path), "ckpt_path")
            self.resume_checkpoint = read_checkpoint(source, mmap=True)
            # Lightning parses the checkpoint's hyper-parameters next, importing every class they name
            check_stored_hyperparameters(self.resume_checkpoint.get("hyper_parameters"), source)
            check_model_settings(config.model.as_dict(), self.resume_checkpoint, str(path))
            if subcommand == "fit":
                check_unfinished(
                    self.resume_checkpoint, config.get("trainer.max_epochs"), config.get("trainer.max_steps"), str(path)
                )
        if "model" in config:  # a flow network in VPDenoiser (or the reverse): refused before any weight is read
            model = config.model.as_dict() if hasattr(config.model, "as_dict") else config.model
            check_adapter_config(model, "model")
            check_base_precision(model, config.get("trainer.precision"))  # a half-precision LoRA base needs autocast
        if subcommand in ("fit", "validate", "predict") and config.get("trainer.logger") in (False, []):
            # no logger: the run writes straight into default_root_dir, so one run a folder (run_lock), claimed by
            # the rank that writes there
            folder = config.get("trainer.default_root_dir") or os.getcwd()
            if is_rank_zero():
                self.run_claim = claim_run_folder(folder, path)
            else:
                check_run_folder(folder, path)

    def before_instantiate_classes(self) -> None:
        """The terminal's bar shows losses and learning rates in full (SFDProgressBar) unless the config chooses
        a bar or turns it off; ``sfd predict`` writes its samples with a SampleWriter unless the config has a
        prediction writer. A logger without its own ``save_dir`` writes under ``trainer.default_root_dir``, so that
        one option moves a run's outputs; resuming (``--ckpt_path``) logs into the checkpoint's logger run (W&B id, CSV
        version) unless one is set."""
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        configured = " ".join(str(getattr(c, "class_path", "")) for c in config.get("trainer.callbacks") or [])
        if config.get("trainer.enable_progress_bar") is not False and "ProgressBar" not in configured:
            self.trainer_defaults["callbacks"] = self.trainer_defaults.get("callbacks", []) + [SFDProgressBar()]
        if self.subcommand == "predict" and "Writer" not in configured:
            self.trainer_defaults["callbacks"] = self.trainer_defaults.get("callbacks", []) + [SampleWriter()]
        logger = config.get("trainer.logger")
        if not hasattr(logger, "init_args"):
            return
        if "save_dir" in logger.init_args and logger.init_args.save_dir is None:
            logger.init_args.save_dir = config.get("trainer.default_root_dir") or os.getcwd()
        if self.resume_checkpoint is None:
            return
        if "version" in logger.init_args and logger.init_args.version is None:
            version = self.resume_checkpoint.get("logger_version")
            if version is not None:
                logger.init_args.version = version

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except Exception as err:
            config_error = find_config_error(err)
            if config_error is None:
                raise
            raise config_error from None


def check_config_files(words: List[str]) -> None:
    """Each ``--config FILE`` naming a file must be UTF-8 YAML holding a mapping of options (jsonargparse
    answers a non-UTF-8 file with a traceback and an empty one with "Unexpected config")."""
    for i, word in enumerate(words):
        value = word.split("=", 1)[1] if word.startswith("--config=") else None
        if word in ("-c", "--config") and i + 1 < len(words):
            value = words[i + 1]
        if value and os.path.isfile(value):
            read_yaml_mapping(value, "--config", "a mapping of options (trainer, model, data, ...)")


# The verbs beside LightningCLI's: each a ``main(argv)`` in its module, imported on use (the console script
# should not pay for every verb's imports).
VERBS = {
    "sample": "sfd_lightning.sample.main",
    "eval": "sfd_lightning.evaluate.main",
    "export": "sfd_lightning.export.main",
    "attack": "sfd_lightning.attack.main",
    "compare": "sfd_lightning.compare.main",
    "sweep": "sfd_lightning.sweep.main",
    "benchmark": "sfd_lightning.benchmark.main",
}


def end_process_group() -> None:
    """Under torchrun, wait until every rank is done (rank 0 may still be writing) and close the process group: a
    rank that exits with the group open can abort in gloo's threads ("terminate called without an active
    exception") and fail the whole launch."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def main(argv: Optional[List[str]] = None) -> None:
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        if words and words[0] in VERBS:
            importlib.import_module(VERBS[words[0]]).main(words[1:])
        else:
            check_config_files(words)
            graceful_sigint()
            silence_known_noise()
            SFDLightningCLI(args=None if argv is None else words)  # None: LightningCLI reads sys.argv itself
        end_process_group()
    except ConfigError as err:
        print(f"sfd: error: {err}", file=sys.stderr)
        sys.exit(2)
    except NonFiniteError as err:  # checkpoints saved before it are intact
        print(f"sfd: error: {err}", file=sys.stderr)
        sys.exit(1)
    except SIGTERMException:  # Lightning's graceful stop exits 0; a scheduler must see the signal
        sys.exit(exit_status())


if __name__ == "__main__":
    main()
