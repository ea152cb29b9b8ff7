"""A callback for the multi-process test: records, per rank, what DDP did to the SFD networks.

Used by tests/test_ddp.py through ``class_path: ddp_probe.DDPProbe`` (the test puts this folder
on PYTHONPATH). Each rank writes ``<out_dir>/rank<r>.json``.
"""

import atexit
import hashlib
import json
import os
import sys

import torch
from lightning.pytorch import Callback


def checksum(tensors) -> str:
    flat = torch.cat([t.detach().double().flatten().cpu() for t in tensors])
    return hashlib.sha1(flat.numpy().tobytes()).hexdigest()


class DDPProbe(Callback):
    """Per rank: weight checksums after every iteration, batch checksums, files opened for writing, DDP wiring."""

    def __init__(self, out_dir: str, watch_dir: str, teacher_offset: float = 0.5):
        self.out_dir, self.watch_dir, self.teacher_offset = out_dir, os.path.abspath(watch_dir), teacher_offset
        self.record = {"steps": [], "writes": []}

    def _audit(self, event, args):
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2]
            if (mode is not None and any(c in mode for c in "wax+")) or bool(flags & (os.O_WRONLY | os.O_RDWR)):
                self._wrote(args[0])
        elif event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile"):  # files written elsewhere, moved in
            self._wrote(args[1])

    def _wrote(self, path) -> None:
        path = os.path.abspath(os.fsdecode(path))
        if path.startswith(self.watch_dir):
            self.record["writes"].append(path)

    def setup(self, trainer, pl_module, stage):
        sys.addaudithook(self._audit)
        # Before DDP wraps the module: shift one teacher weight on this rank only. If DDP synchronised
        # the teacher, the shift would be overwritten by rank 0's value.
        with torch.no_grad():
            next(pl_module.teacher.parameters()).add_(self.teacher_offset * trainer.global_rank)

    def on_train_start(self, trainer, pl_module):
        ddp = trainer.strategy.model
        wrapped = {
            id(p) for p in getattr(ddp, "_module_parameters", []) if p.requires_grad
        }  # what its reducer averages
        self.record["outer_wrapper"] = type(ddp).__name__
        self.record["teacher_params_in_outer_ddp"] = sum(id(p) in wrapped for p in pl_module.teacher.parameters())
        self.record["fake_score_params_in_outer_ddp"] = sum(id(p) in wrapped for p in pl_module.fake_score.parameters())
        self.record["generator_params_in_outer_ddp"] = sum(id(p) in wrapped for p in pl_module.generator.parameters())
        self.record["fake_score_adapters"] = sum("lora_" in n for n, _ in pl_module.fake_score.named_parameters())
        inner = pl_module._ddp.get("generator")
        self.record["generator_wrapper"] = type(inner).__name__ if inner is not None else None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.record["steps"].append(
            {
                "iteration": pl_module.iteration,
                "generator": checksum(pl_module.generator.parameters()),
                "fake_score": checksum(pl_module.fake_score.parameters()),
                "ema": checksum(pl_module.generator_ema.parameters()),
                "batch": checksum([batch["fake_score"]["z"], batch["generator"]["z"]]),
            }
        )

    def on_train_end(self, trainer, pl_module):
        self.record["teacher"] = checksum(pl_module.teacher.parameters())
        with torch.no_grad():  # undo the shift so the final evaluations use the real teacher
            next(pl_module.teacher.parameters()).sub_(self.teacher_offset * trainer.global_rank)

    def teardown(self, trainer, pl_module, stage):
        self.record["metrics"] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        self._path = os.path.join(self.out_dir, f"rank{trainer.global_rank}.json")
        atexit.register(self._dump)  # at exit, so writes after teardown (logger finalisation) are seen too

    def _dump(self):
        os.makedirs(self.out_dir, exist_ok=True)
        with open(self._path, "w") as f:
            json.dump(self.record, f, indent=1)
