"""``UnlearningModule``: what SFD and every unlearning baseline share, and all the callbacks read of them.

A frozen teacher (weights from ``teacher_ckpt``), the frozen autoencoder of a latent teacher, the forgotten class
(``num_classes`` and ``forget_label``; both null for a baseline on a prompt-conditioned teacher) and the ``override``
the teacher is shown for it, ``iteration`` (the x axis of every evaluation and log), ``sample_images`` (what the
evaluation callbacks judge: SFD's one step, a baseline's fine-tuned multi-step DDIM) and checkpoints that leave the
frozen networks out (the config rebuilds them).

Callbacks that also serve modules that unlearn nothing (``DiffusionModule``, ``ClassifierModule``: teacher,
classifier and retraining runs) ask ``isinstance(pl_module, UnlearningModule)``, e.g. :func:`iteration_of`; the
evaluation callbacks require one (:func:`require_module`)."""

from contextlib import nullcontext
from typing import Any, Dict, Optional, Tuple, Type

import torch
from lightning.pytorch import LightningModule, Trainer
from torch import nn

from sfd_lightning.data.noise import NoiseLabelDataModule
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser
from sfd_lightning.diffusion.samplers import sample_ddim
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept, ForgetClass
from sfd_lightning.io.sfd_weights import load_teacher_weights
from sfd_lightning.models.frozen import drop_prefixes, freeze, restore_prefixes
from sfd_lightning.override import OverridePolicy

FROZEN = ("teacher.", "override.", "autoencoder.")  # rebuilt from the config, never checkpointed


def network_classes(teacher: nn.Module, default: Optional[int]) -> Optional[int]:
    """The class count of the teacher's network (None: conditioned on prompts); ``default`` for a network that
    does not say."""
    return getattr(getattr(teacher, "net", None), "num_classes", default)


def network_shape(teacher: nn.Module) -> Optional[tuple]:
    """The (C, H, W) the teacher's network samples in (latents for a latent model); None for a network that does
    not say."""
    net = getattr(teacher, "net", None)
    channels, resolution = getattr(net, "in_channels", None), getattr(net, "resolution", None)
    return None if channels is None or resolution is None else (channels, resolution, resolution)


def check_data_shape(data: Any, teacher: nn.Module) -> None:
    """The noise data module draws samples of the teacher's shape: a mismatch would otherwise fail deep inside
    the network at the first update."""
    want = network_shape(teacher)
    if isinstance(data, NoiseLabelDataModule) and want is not None and tuple(data.shape) != want:
        raise ConfigError(
            "data.init_args.shape",
            f"is {list(data.shape)} but the teacher's network samples "
            f"{list(want)} (channels, height, width); set it to {list(want)}",
        )


def check_classes(
    num_classes: Optional[int], forget_label: Optional[int], override: Optional[OverridePolicy], teacher: nn.Module
) -> None:
    """The class settings agree with the teacher network: null classes for a prompt-conditioned one; otherwise the
    class count, a forget label among the classes, and an override that can stand in for it."""
    net_classes = network_classes(teacher, num_classes)
    if num_classes is None:
        if net_classes is not None:
            raise ConfigError(
                "model.num_classes",
                f"is null (a prompt-conditioned teacher) but the teacher network has {net_classes} classes",
            )
        return
    if num_classes < 2:
        raise ConfigError("model.num_classes", f"must be >= 2, got {num_classes}")
    if net_classes is not None and net_classes != num_classes:  # None: a prompt-conditioned teacher
        raise ConfigError("model.num_classes", f"is {num_classes} but the teacher network has {net_classes} classes")
    if forget_label is None or not 0 <= forget_label < num_classes:
        raise ConfigError(
            "model.forget_label",
            f"must be in [0, {num_classes - 1}], got {'null' if forget_label is None else forget_label}",
        )
    if override is not None:
        override.validate(forget_label, num_classes)


class UnlearningModule(LightningModule):
    """Base class of SFD and the baselines: the frozen teacher and autoencoder, the forgotten class, the override,
    ``iteration``, ``decode``, ``sample_images``, checkpoints without the frozen networks, and ``export_config``.

    Subclasses pass their settings up, then call ``save_plain_hyperparameters(self)`` themselves: their own
    arguments are the hyper-parameters checkpoints store."""

    def __init__(
        self,
        teacher: Denoiser,
        teacher_ckpt: Optional[str] = None,
        num_classes: Optional[int] = 10,
        forget_label: Optional[int] = 0,
        override: Optional[OverridePolicy] = None,
        autoencoder: Optional[nn.Module] = None,
    ):
        """
        Args:
            teacher: the pretrained denoiser; frozen here, after its weights are loaded from ``teacher_ckpt``.
            teacher_ckpt: the teacher's weights (see :func:`load_teacher_weights`); null: the network's own.
            num_classes: classes of a class-conditional teacher; null for a prompt-conditioned one.
            forget_label: the class to forget (an index); null with ``num_classes`` null.
            override: what the teacher is shown for the forgotten class, where the method has one.
            autoencoder: for latent teachers: the frozen autoencoder whose ``decode`` turns latents into images.
        """
        super().__init__()
        self.num_classes, self.forget_label, self.override = num_classes, forget_label, override
        self.check_classes(teacher)
        if teacher_ckpt:
            load_teacher_weights(teacher, teacher_ckpt)
        self.teacher = freeze(teacher)
        self.autoencoder = freeze(autoencoder) if autoencoder is not None else None

    def check_classes(self, teacher: Denoiser) -> None:
        """The class settings against the teacher network, before any weight is read (:func:`check_classes`)."""
        check_classes(self.num_classes, self.forget_label, self.override, teacher)

    # ----------------------------------------------------------------------------- what the callbacks read
    @property
    def iteration(self) -> int:
        """Training iterations so far, the x axis of every evaluation and log: optimiser steps here; SFD counts its
        own (two optimiser steps an iteration)."""
        return self.global_step

    @property
    def forget_classes(self) -> Tuple[ForgetClass, ...]:
        """Every class this model forgets, each with the class its override shows (None where a policy picks per
        sample); empty for a prompt-conditioned model. SFD: the union of a sequential step's release and request."""
        if self.forget_label is None:
            return ()
        return (ForgetClass(self.forget_label, getattr(self.override, "label", None)),)

    @property
    def forget_concepts(self) -> Tuple[Concept, ...]:
        """The prompt concepts forgotten before this run (a sequential step's release; ``model.previous``): the
        prompt data module adds them to its own request. Empty otherwise."""
        return ()

    @property
    def prompt_conditioned(self) -> bool:
        """Whether the teacher is conditioned on prompts (the data module's prompts name the concept)."""
        return network_classes(self.teacher, self.num_classes) is None

    @property
    def report_labels(self) -> Optional[Dict[str, str]]:
        """The report's row names where this model's differ from SFD's (``ReportCallback``); None: SFD's."""
        return None

    def precision_context(self):
        """The trainer's precision around a forward pass (bf16-mixed: autocast), for sampling outside the training
        step (the callbacks): a LoRA run's bfloat16 base then computes as in training. Outside a trainer: nothing."""
        return self._trainer.precision_plugin.forward_context() if self._trainer is not None else nullcontext()

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from what the networks produce: latents go through the autoencoder."""
        return x if self.autoencoder is None else self.autoencoder.decode(x)

    def teacher_images(self, noise: torch.Tensor, conditions: Condition, steps: int, cfg_scale: float) -> torch.Tensor:
        """The teacher's ``steps``-step DDIM (a flow teacher: Euler) samples for ``noise`` and ``conditions``, decoded,
        in [-1, 1]: what the callbacks set beside the unlearned model's."""
        with self.precision_context():
            x0 = sample_ddim(self.teacher, noise, conditions, steps, cfg_scale).float()
        return self.decode(x0).clamp(-1, 1)

    def sample_images(self, noise: torch.Tensor, conditions: Condition) -> torch.Tensor:
        """Decoded images of the unlearned model for ``noise`` (N, C, H, W) and N ``conditions``: what the
        evaluation callbacks judge."""
        raise NotImplementedError

    def setup(self, stage: str) -> None:
        """Before the first batch: the data module's noise has the teacher's sample shape."""
        super().setup(stage)
        if self._trainer is not None:
            check_data_shape(self.trainer.datamodule, self.teacher)

    # ----------------------------------------------------------------------------- frozen parts
    def train(self, mode: bool = True) -> "UnlearningModule":
        super().train(mode)
        self.teacher.eval()  # frozen at construction, whatever Lightning asks
        if self.autoencoder is not None:
            self.autoencoder.eval()
        return self

    def on_save_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        """Leave the frozen networks (teacher, override policy, autoencoder) out: the config rebuilds them."""
        checkpoint["state_dict"] = drop_prefixes(checkpoint["state_dict"], FROZEN)

    def on_load_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        """Put this module's live frozen weights into the loaded state dict, so strict loading checks the rest."""
        restore_prefixes(checkpoint["state_dict"], self, FROZEN)

    def export_config(self):
        """The teacher's class_path config, which rebuilds the exported network."""
        return self.hparams.get("teacher")


def iteration_of(trainer: Trainer, pl_module: LightningModule) -> int:
    """The run's iteration: an unlearning module's own count, else the trainer's optimiser steps."""
    return pl_module.iteration if isinstance(pl_module, UnlearningModule) else trainer.global_step


def require_module(pl_module: LightningModule, kind: Type[LightningModule], who: str) -> None:
    """A ConfigError naming the callback ``who`` unless ``pl_module`` is a ``kind`` (``UnlearningModule``: SFD or a
    baseline; ``SFDModule``: SFD's one-step generator)."""
    if not isinstance(pl_module, kind):
        what = "SFDModule or a baseline" if kind is UnlearningModule else kind.__name__
        raise ConfigError(
            f"trainer.callbacks.{who}", f"needs the model of an unlearning run ({what}), got {type(pl_module).__name__}"
        )
