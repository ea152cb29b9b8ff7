"""Running the SFD reference implementation's own DDPM loop (``Diffusion.train_sfd``) on a CPU.

The reference is github.com/tqch/score-forgetting-distillation at commit 3771028; its code is
imported from a clone at run time, never copied here. Its loop runs unchanged; around it, this
module provides only what a CPU machine lacks or what the loop reads from disk: a one-process gloo
group instead of NCCL, DDP without CUDA device ids, a data loader of labels (the loop uses its
images only for their shape), the config namespaces and the checkpoint file it starts from.
Used by ``make bench REFERENCE=...`` (``benchmarks/bench_reference.py``) and by
``tests/fixtures/make_reference_iteration.py``.
"""

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
from types import ModuleType, SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import torch

REFERENCE_COMMIT = "3771028"
REFERENCE_URL = "https://github.com/tqch/score-forgetting-distillation"
# what the DDPM loop imports beyond this project's dependencies (the SD loop also needs psutil and blobfile)
DDPM_IMPORTS = ("einops",)
LINEAR_SCHEDULE = dict(beta_schedule="linear", beta_start=0.0001, beta_end=0.02, num_diffusion_timesteps=1000)


class ReferenceSetupError(Exception):
    """The reference clone cannot be used; the message is one line that names REFERENCE and the fix."""


def check_reference(path: str, imports: Sequence[str] = DDPM_IMPORTS) -> str:
    """The clone's absolute path, once it is a git clone of the reference at ``REFERENCE_COMMIT`` whose
    ``imports`` are importable; else :class:`ReferenceSetupError`."""
    check_clone(path)
    check_imports(path, imports)
    return os.path.realpath(path)


def check_clone(path: str) -> None:
    get = f"git clone {REFERENCE_URL} DIR && git -C DIR checkout {REFERENCE_COMMIT}, then give REFERENCE=DIR"
    if not path or not os.path.isdir(path):
        raise ReferenceSetupError(f"REFERENCE={path}: no such folder; {get}")
    try:
        out = subprocess.run(
            ["git", "-C", path, "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        raise ReferenceSetupError(f"REFERENCE={path}: git is needed to check the clone's commit; install git") from None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or os.path.realpath(lines[0]) != os.path.realpath(path):
        raise ReferenceSetupError(f"REFERENCE={path} is not the top folder of a git clone; {get}")
    if not os.path.isfile(os.path.join(path, "DDPM", "runners", "diffusion.py")):
        raise ReferenceSetupError(f"REFERENCE={path} has no DDPM/runners/diffusion.py: not a clone of {REFERENCE_URL}")
    if not lines[1].startswith(REFERENCE_COMMIT):
        raise ReferenceSetupError(
            f"REFERENCE={path} is at commit {lines[1][:7]}, not {REFERENCE_COMMIT}; "
            f"run git -C {path} checkout {REFERENCE_COMMIT}"
        )


def check_imports(path: str, imports: Sequence[str]) -> None:
    missing = [name for name in imports if importlib.util.find_spec(name) is None]
    if missing:
        raise ReferenceSetupError(
            f"REFERENCE={path} needs {', '.join(missing)}, which this Python lacks; "
            f"{sys.executable} -m pip install einops psutil blobfile (as make fixtures does)"
        )


def on_path(repo: str, part: str) -> None:
    """Put ``repo/part`` (``DDPM`` or ``SD``) first on ``sys.path`` and forget modules cached under its
    top-level names: both parts have packages named ``dnnlib`` and ``torch_utils``, and other
    libraries may own names such as ``datasets``."""
    folder = os.path.join(repo, part)
    names = {entry.removesuffix(".py") for entry in os.listdir(folder)}
    for name in [m for m in sys.modules if m.split(".")[0] in names]:
        del sys.modules[name]
    sys.path.insert(0, folder)


def namespace(d: Dict[str, Any]) -> SimpleNamespace:
    """The attribute tree the reference reads its YAML configs into."""
    return SimpleNamespace(**{k: namespace(v) if isinstance(v, dict) else v for k, v in d.items()})


def ddpm_config(
    model: Dict[str, Any],
    data: Dict[str, Any],
    distill: Dict[str, Any],
    sg_optim: Dict[str, Any],
    g_optim: Dict[str, Any],
    batch_size: int,
    n_iters: int,
    log_freq: int,
    diffusion: Dict[str, Any] = LINEAR_SCHEDULE,
) -> SimpleNamespace:
    """A config of ``train_sfd``: the sections of the reference's ``DDPM/configs/*_sfd.yml``, never snapshotting."""
    return namespace(
        dict(
            model=model,
            data=data,
            distill=distill,
            sg_optim=sg_optim,
            g_optim=g_optim,
            diffusion=diffusion,
            training=dict(
                batch_size=batch_size, n_iters=n_iters, snapshot_freq=10**9, log_freq=log_freq, visualization_samples=10
            ),
            sampling=dict(batch_size=batch_size, last_only=True),
        )
    )


class LabelLoader:
    """The loop's data loader: endless (placeholder images (B, C, H, W), labels (B,)); the loop reads
    the images' shape only (its generator starts from noise) and conditions on the labels."""

    def __init__(self, shape: Tuple[int, ...], labels: Callable[[], torch.Tensor]):
        self.shape, self.labels = shape, labels

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        while True:
            labels = self.labels()
            yield torch.zeros(len(labels), *self.shape), labels


@contextlib.contextmanager
def cpu_process_group(start: bool = False):
    """A one-process gloo group, whatever backend the loop asks for (``start``: begun here, as the SD
    loop's launcher does); CUDA device calls become no-ops and DDP takes no device ids."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
    init, set_device, ddp = (
        torch.distributed.init_process_group,
        torch.cuda.set_device,
        torch.nn.parallel.DistributedDataParallel,
    )

    def init_gloo(*args, **kwargs):
        kwargs.pop("backend", None)
        return init("gloo", init_method="env://")

    class CPUDistributedDataParallel(ddp):
        def __init__(self, module, device_ids=None, **kwargs):
            super().__init__(module, **kwargs)

    torch.distributed.init_process_group, torch.cuda.set_device = init_gloo, lambda *a, **k: None
    torch.nn.parallel.DistributedDataParallel = CPUDistributedDataParallel
    torch.nn.parallel.distributed.DistributedDataParallel = CPUDistributedDataParallel
    if start:
        init_gloo()
    try:
        yield
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        torch.distributed.init_process_group, torch.cuda.set_device = init, set_device
        torch.nn.parallel.DistributedDataParallel = ddp
        torch.nn.parallel.distributed.DistributedDataParallel = ddp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_train_sfd(
    runner: ModuleType,
    config: SimpleNamespace,
    states: List[Any],
    loader: LabelLoader,
    forget_label: int,
    seed: int = 0,
) -> None:
    """``runner.Diffusion(args, config).train_sfd()`` (``runner``: the reference's ``runners.diffusion``) from
    the SFD checkpoint list ``states`` ([fake score, optimiser, generator, optimiser, step, generator EMA]),
    with ``loader`` as its data and ``torch.manual_seed(seed)`` before it builds anything."""
    get_forget_dataset = runner.get_forget_dataset
    runner.get_forget_dataset = lambda args, config, label, sampler_fn=None: (loader, None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "init.pth")
            torch.save(states, path)
            config.log_dir = config.ckpt_dir = tmp
            args = namespace(dict(seed=seed, label_to_forget=forget_label, init_ckpt=path, init_ckpt_0=None))
            torch.manual_seed(seed)
            with cpu_process_group():
                runner.Diffusion(args, config).train_sfd()
    finally:
        runner.get_forget_dataset = get_forget_dataset
