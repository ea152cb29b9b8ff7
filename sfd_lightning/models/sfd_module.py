"""Score Forgetting Distillation as a LightningModule (Chen, Zhang & Zhou, ICLR 2025, Alg. 1).

Each training step is one SFD iteration: a fake-score update on the generator's detached samples,
then a generator update through the frozen teacher and the fake score (SiD, Zhou et al. 2024),
then an EMA update of the generator. Lightning counts two optimiser steps per iteration in
``trainer.global_step``; ``self.iteration`` counts SFD iterations.
"""
import copy
import os
from contextlib import nullcontext
from functools import partial
from typing import Any, Dict, Literal, Optional, Union

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sfd_lightning.checkpoints import load_network, read_any
from sfd_lightning.class_names import resolve_label
from sfd_lightning.diffusion import conditions
from sfd_lightning.diffusion.conditions import Condition
from sfd_lightning.diffusion.denoiser import Denoiser, guided
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses import denoising_loss, sid_generator_loss
from sfd_lightning.models.frozen import drop_prefixes, freeze, restore_prefixes
from sfd_lightning.models.hparams import save_plain_hyperparameters
from sfd_lightning.models.optim import adam_or
from sfd_lightning.override import FixedOverride, OverridePolicy
from sfd_lightning.seeding import derive_seed

FROZEN = ("teacher.", "override.", "autoencoder.")
TEACHER_PREFIXES = ("denoiser_ema.module.", "denoiser.")
STAGE_ONE = ("generator_ema.", "fake_score.")
STEPS_PER_ITERATION = 2  # optimiser steps Lightning counts per SFD iteration (fake score, generator)


class NonFiniteError(RuntimeError):
    """A loss or gradient was not finite and ``model.on_nonfinite`` is ``stop``."""


class SFDModule(LightningModule):
    """Distil a class-conditional teacher into a one-step generator that forgets one class."""

    def __init__(
        self,
        teacher: Denoiser,
        teacher_ckpt: Optional[str] = None,
        num_classes: int = 10,
        forget_label: Union[int, str] = 0,
        override_label: Union[int, str, None] = 1,
        override: Optional[OverridePolicy] = None,
        alpha: float = 1.2,
        t_min: int = 38,
        t_init: int = 440,
        t_max: int = 712,
        sg_remain_coef: float = 1.0,
        sg_forget_coef: float = 0.01,
        g_remain_coef: float = 1.0,
        g_forget_coef: float = 0.01,
        fake_score_optimizer: Optional[OptimizerCallable] = None,
        generator_optimizer: Optional[OptimizerCallable] = None,
        lr_scheduler: Optional[LRSchedulerCallable] = None,
        grad_clip_value: Optional[float] = 1.0,
        ema_decay: float = 0.9999,
        ema_start: int = 0,
        init_ckpt: Optional[str] = None,
        on_nonfinite: Literal["skip", "stop"] = "skip",
        seed: int = 0,
        autoencoder: Optional[nn.Module] = None,
        teacher_cfg_scale: float = 1.0,
        fake_score_cfg_scale: float = 1.0,
        channels_last: bool = False,
        compile: bool = False,
        batch_forget: bool = True,
    ):
        """
        Args:
            teacher: the pretrained denoiser (its architecture); fake score and generator start as copies.
            teacher_ckpt: weights for the teacher (EMA where present): an exported asset, a Lightning checkpoint of
                DiffusionModule, or a reference DDPM checkpoint (list format; see ``load_teacher``).
            num_classes: number of classes the teacher is conditioned on.
            forget_label: the class c_f to forget: an index, or an ImageNet class name for 1,000-class teachers.
            override_label: the safe class c_o shown to the teacher for c_f (a fixed override; index or
                ImageNet name); null with ``override``.
            override: another override policy (``RandomOverride``, ``ClassifierOverride``); needs override_label null.
            alpha: SiD's alpha in the generator loss.
            t_min: smallest timestep sampled for the losses.
            t_init: timestep at which the generator denoises pure noise in one step.
            t_max: timestep bound (exclusive) for the losses.
            sg_remain_coef: weight of the fake-score loss on retained labels.
            sg_forget_coef: weight of the fake-score loss on forget-label samples.
            g_remain_coef: weight of the generator loss on retained labels.
            g_forget_coef: weight of the generator's forgetting term.
            fake_score_optimizer: optimiser for the fake score (default Adam lr 1e-5, betas (0, 0.999)).
            generator_optimizer: optimiser for the generator (default Adam lr 1e-5, betas (0, 0.999)).
            lr_scheduler: learning-rate schedule built for each of the two optimisers and stepped once per
                SFD iteration, e.g. ``torch.optim.lr_scheduler.MultiStepLR`` (milestones in iterations, gamma)
                or ``LinearLR``; null keeps the rates constant (the reference).
            grad_clip_value: clip every gradient element to this magnitude; null for none.
            ema_decay: decay of the generator's exponential moving average.
            ema_start: iteration from which the EMA averages (before it, it copies the generator).
            init_ckpt: two-stage SFD: start the generator, its EMA and the fake score from a stage-1
                (distillation-only) SFD checkpoint, exported ``sfd`` asset or reference SiD/SFD checkpoint.
            on_nonfinite: when a loss or gradient is NaN/inf: ``skip`` the update (counted in
                ``nonfinite/skipped``) or ``stop`` the run with an error; the weights never see it.
            autoencoder: for latent teachers (DiT): the frozen autoencoder whose ``decode`` turns latents
                into images for metrics and grids; never trained, never checkpointed.
            teacher_cfg_scale: classifier-free guidance scale of the teacher inside the generator loss (1: none).
            fake_score_cfg_scale: the same for the fake score (1: none).
            channels_last: keep the convolutional networks' activations in channels-last memory format (GPU speed).
            compile: ``torch.compile`` the three networks' forward passes.
            batch_forget: run each network once on the retained and forget samples together (2B); false
                runs them one after the other, as the reference does (for comparisons; one device only).
            seed: seed of the training randomness (timesteps, loss noise, random overrides); iteration i
                on rank r draws from (seed, i, r), so a resumed run repeats the uninterrupted one.
        """
        super().__init__()
        save_plain_hyperparameters(self)
        self.automatic_optimization = False
        forget_label = resolve_label(forget_label, num_classes, "model.forget_label")
        override_label = resolve_label(override_label, num_classes, "model.override_label")
        self.num_classes, self.forget_label, self.alpha = num_classes, forget_label, alpha
        self.cfg_scales = dict(teacher=teacher_cfg_scale, fake_score=fake_score_cfg_scale)
        self.t_min, self.t_init, self.t_max = t_min, t_init, t_max
        self.coefs = dict(sg_remain=sg_remain_coef, sg_forget=sg_forget_coef, g_remain=g_remain_coef, g_forget=g_forget_coef)
        self.grad_clip_value, self.ema_decay, self.ema_start = grad_clip_value, ema_decay, ema_start
        self.fake_score_optimizer = adam_or(fake_score_optimizer, lr=1e-5)
        self.generator_optimizer = adam_or(generator_optimizer, lr=1e-5)
        self.lr_scheduler = lr_scheduler
        self.override = self._override_policy(override_label, override)
        self._validate(teacher)
        self._build_networks(teacher, teacher_ckpt, init_ckpt)
        self.autoencoder = freeze(autoencoder) if autoencoder is not None else None
        self._speed_options(channels_last, compile)
        self.on_nonfinite, self.seed, self.batch_forget = on_nonfinite, seed, batch_forget
        self.iteration, self.skipped_steps = 0, 0
        # DDP leaves the frozen teacher alone (no broadcast, no reducer); the generator gets its own
        # DDP wrapper in on_fit_start because it is updated by a different backward than the fake score.
        self._ddp_params_and_buffers_to_ignore = [k for k in self.state_dict() if k.startswith(FROZEN + ("generator.",))]
        self._wrappers: Dict[str, DistributedDataParallel] = {}  # a plain dict: not a submodule, not in checkpoints

    def _build_networks(self, teacher: Denoiser, teacher_ckpt: Optional[str], init_ckpt: Optional[str]) -> None:
        """Frozen teacher (with its weights); fake score, generator and its EMA as copies (or from stage 1)."""
        if teacher_ckpt:
            ckpt = read_any(teacher_ckpt, "model.teacher_ckpt")
            load_network(teacher, ckpt, teacher_ckpt, "model.teacher_ckpt", "model.teacher", TEACHER_PREFIXES)
        self.teacher = freeze(teacher)
        self.fake_score = copy.deepcopy(teacher).train().requires_grad_(True)
        self.generator = copy.deepcopy(teacher).train().requires_grad_(True)
        ema = get_ema_multi_avg_fn(self.ema_decay)
        self.generator_ema = AveragedModel(self.generator, multi_avg_fn=ema, use_buffers=True).requires_grad_(False)
        if init_ckpt:
            self._load_stage_one(init_ckpt)

    def _load_stage_one(self, path: str) -> None:
        """The stage-1 EMA generator becomes the generator (and its EMA); the fake score carries on.

        ``path``: this project's SFD checkpoint or ``sfd`` asset, a reference SFD/SiD checkpoint, or a
        folder holding a one-step generator in the network's own pretrained format (e.g. a distilled SD
        UNet in diffusers layout); a folder sets the generator only, the fake score stays the teacher.
        """
        if os.path.isdir(path):
            loader = getattr(self.generator.net, "load_generator_folder", None)
            if loader is None:
                raise ConfigError("model.init_ckpt", f"{path!r} is a folder, but {type(self.generator.net).__name__} "
                                  "cannot load one; give a checkpoint file")
            loader(path)
            self.generator_ema.module.load_state_dict(self.generator.state_dict())
            return
        ckpt = read_any(path, "model.init_ckpt")
        load_network(self.generator, ckpt, path, "model.init_ckpt", "model.teacher (as the generator)", ["generator_ema.module."])
        self.generator_ema.module.load_state_dict(self.generator.state_dict())
        load_network(self.fake_score, ckpt, path, "model.init_ckpt", "model.teacher (as the fake score)", ["fake_score."],
                     role="fake_score")

    def _speed_options(self, channels_last: bool, compile: bool) -> None:
        for net in (self.teacher, self.fake_score, self.generator):
            if channels_last:
                net.to(memory_format=torch.channels_last)
            if compile:
                net.compile()  # compiles forward in place; parameter names and state dicts are unchanged

    def _override_policy(self, override_label: Optional[int], override: Optional[OverridePolicy]) -> OverridePolicy:
        if override is not None and override_label is not None:
            raise ConfigError("model.override_label", "set it to null when model.override chooses another policy")
        if override is None and override_label is None:
            raise ConfigError("model.override_label", "give an override label or an override policy (model.override)")
        return override if override is not None else FixedOverride(override_label)

    def _validate(self, teacher: Denoiser) -> None:
        k = self.num_classes
        if k < 2:
            raise ConfigError("model.num_classes", f"must be >= 2, got {k}")
        net_classes = getattr(getattr(teacher, "net", None), "num_classes", k)
        if net_classes is not None and net_classes != k:  # None: a prompt-conditioned teacher
            raise ConfigError("model.num_classes", f"is {k} but the teacher network has {net_classes} classes")
        if not 0 <= self.forget_label < k:
            raise ConfigError("model.forget_label", f"must be in [0, {k - 1}], got {self.forget_label}")
        self.override.validate(self.forget_label, k)
        T = teacher.schedule.num_timesteps
        if not 0 <= self.t_min < self.t_max <= T:
            raise ConfigError("model.t_min", f"need 0 <= t_min < t_max <= {T}, got t_min={self.t_min}, t_max={self.t_max}")
        if not 0 <= self.t_init < T:
            raise ConfigError("model.t_init", f"must be in [0, {T - 1}], got {self.t_init}")
        for name, value in self.coefs.items():
            if value < 0:
                raise ConfigError(f"model.{name}_coef", f"must be >= 0, got {value}")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError("model.ema_decay", f"must be in [0, 1), got {self.ema_decay}")
        if self.hparams.on_nonfinite not in ("skip", "stop"):
            raise ConfigError("model.on_nonfinite", f"must be skip or stop, got {self.hparams.on_nonfinite!r}")

    @property
    def forgets(self) -> bool:
        """False for pure distillation (stage 1 of two-stage SFD): both forget coefficients are 0."""
        return self.coefs["sg_forget"] > 0 or self.coefs["g_forget"] > 0

    # ----------------------------------------------------------------------------- sampling
    @property
    def sigma_init(self) -> torch.Tensor:
        return self.teacher.schedule.sigmas[self.t_init]

    def generate(self, z: torch.Tensor, labels: torch.Tensor, ema: bool = False) -> torch.Tensor:
        """One step from pure noise z ~ N(0, I): x_g = D_theta(sigma_init * z, sigma_init, labels)."""
        generator = self.generator_ema.module if ema else self.generator
        return generator(self.sigma_init * z, self.sigma_init, labels)

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] from what the networks produce: latents go through the autoencoder."""
        return x if self.autoencoder is None else self.autoencoder.decode(x)

    def sample_sigma(self, n: int) -> torch.Tensor:
        t = torch.randint(self.t_min, self.t_max, (n,), device=self.device)
        return self.teacher.schedule.sigmas[t]  # (n,)

    # ----------------------------------------------------------------------------- training
    def training_step(self, batch: Dict[str, torch.Tensor], batch_idx: int) -> None:
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.seed, self.iteration, self.global_rank))
            self._iterate(batch)

    def _iterate(self, batch: Dict[str, Any]) -> None:
        """``batch``: noise ``z`` (B, C, H, W) and retained ``labels`` (B,) or prompts; prompt batches
        also bring ``forget_labels`` and the teacher's ``override_labels`` (prompts with the concept replaced)."""
        z, labels = batch["z"], batch["labels"]
        with_forget = self.forgets
        override = batch.get("override_labels")
        if with_forget:  # one batch of 2B: retained conditions, then forget conditions on the same noise
            z = torch.cat([z, z])
            forget = batch.get("forget_labels", conditions.filled_like(labels, self.forget_label))
            labels = conditions.cat(labels, forget)
        fake_opt, gen_opt = self.optimizers()
        logs = self.fake_score_step(fake_opt, z, labels, with_forget)
        logs.update(self.generator_step(gen_opt, z, labels, with_forget, override))
        self.iteration += 1
        self.update_ema()
        logs.update(self._step_schedules(fake_opt, gen_opt))
        self.log_dict(logs, prog_bar=True, on_step=True, batch_size=len(batch["labels"]))
        self.log("iteration", float(self.iteration), on_step=True, batch_size=1)
        self.log("nonfinite/skipped", float(self.skipped_steps), on_step=True, batch_size=1)

    def fake_score_step(self, opt, z: torch.Tensor, labels: torch.Tensor, with_forget: bool) -> Dict[str, torch.Tensor]:
        self.toggle_optimizer(opt)
        with torch.no_grad():
            self.generator.eval()
            x_g = self._in_passes(self.generate, with_forget, z, labels)
        sigma, noise = self.sample_sigma(len(z)), torch.randn_like(x_g)
        per_sample = self._in_passes(partial(denoising_loss, self.fake_score), with_forget, x_g, sigma, noise, labels)
        remain, forget = self._split(per_sample, with_forget)
        loss = self.coefs["sg_remain"] * remain + self.coefs["sg_forget"] * forget
        self._step(opt, loss, "fake-score")
        self.untoggle_optimizer(opt)
        return {"loss/fake_score_remain": remain.detach(), "loss/fake_score_forget": forget.detach()}

    def generator_step(self, opt, z: torch.Tensor, labels: Condition, with_forget: bool,
                       override: Optional[Condition] = None) -> Dict[str, torch.Tensor]:
        self.toggle_optimizer(opt)
        self.generator.train()
        self.fake_score.eval()
        generator = self._wrappers.get("generator", self.generator)
        x_g = self._in_passes(lambda z_, y: generator(self.sigma_init * z_, self.sigma_init, y), with_forget, z, labels)
        sigma, noise = self.sample_sigma(len(z)), torch.randn_like(x_g)
        loss_fn = partial(sid_generator_loss, self._guided("teacher"), self._guided("fake_score"), alpha=self.alpha)
        if self.batch_forget or not with_forget:
            per_sample = loss_fn(x_g, sigma, noise, self._teacher_labels(labels, with_forget, override), labels)
        else:  # the reference's order: retained samples, then forget samples with the override for the teacher
            n = len(z) // 2
            if override is None:
                override = partial(self.override, forget_label=self.forget_label, num_classes=self.num_classes)
            per_sample = torch.cat([loss_fn(x_g[:n], sigma[:n], noise[:n], labels[:n], labels[:n]),
                                    loss_fn(x_g[n:], sigma[n:], noise[n:], override, labels[n:])])
        remain, forget = self._split(per_sample, with_forget)
        loss = self.coefs["g_remain"] * remain + self.coefs["g_forget"] * forget
        # The generator's own DDP wrapper averages its gradients; Lightning's wrapper (fake score) sits this one out.
        with self.trainer.strategy.block_backward_sync() if self._wrappers else nullcontext():
            self._step(opt, loss, "generator")
        self.fake_score.train()
        self.untoggle_optimizer(opt)
        return {"loss/generator_remain": remain.detach(), "loss/generator_forget": forget.detach()}

    def _in_passes(self, fn, with_forget: bool, *tensors: torch.Tensor) -> torch.Tensor:
        """``fn(*tensors)`` in one pass, or on the retained and the forget halves in turn (``batch_forget: false``)."""
        if self.batch_forget or not with_forget:
            return fn(*tensors)
        n = len(tensors[0]) // 2
        return torch.cat([fn(*(t[:n] for t in tensors)), fn(*(t[n:] for t in tensors))])

    def _guided(self, name: str):
        """The teacher or fake score, with classifier-free guidance when its scale is not 1."""
        denoiser, scale = getattr(self, name), self.cfg_scales[name]
        if scale == 1.0:
            return denoiser
        return lambda x, sigma, labels: guided(denoiser, x, sigma, labels, scale)

    def _teacher_labels(self, labels: Condition, with_forget: bool, override: Optional[Condition] = None):
        """Retained half keeps its conditions; the forget half gets the batch's override prompts or the
        override policy's labels."""
        if not with_forget:
            return labels
        n = len(labels) // 2
        if override is not None:
            return conditions.cat(labels[:n], override)

        def pick(fake_x0: torch.Tensor) -> torch.Tensor:
            override = self.override(fake_x0[n:], self.forget_label, self.num_classes)
            return conditions.cat(labels[:n], override)

        return pick

    @staticmethod
    def _split(per_sample: torch.Tensor, with_forget: bool):
        if not with_forget:
            return per_sample.mean(), per_sample.new_zeros(())
        remain, forget = per_sample.chunk(2)
        return remain.mean(), forget.mean()

    def _step(self, opt, loss: torch.Tensor, name: str) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if not self._finite(opt, loss):
            if self.on_nonfinite == "stop":
                raise NonFiniteError(f"SFD iteration {self.iteration}: the {name} loss or its gradients are not finite "
                                     "(model.on_nonfinite=stop); checkpoints saved so far are intact. Lower the learning "
                                     "rates or set model.on_nonfinite=skip, and resume with --ckpt_path")
            self.skipped_steps += 1
            opt.zero_grad(set_to_none=True)  # the step below then changes no weight and no optimiser state
        elif self.grad_clip_value is not None:
            self.clip_gradients(opt, gradient_clip_val=self.grad_clip_value, gradient_clip_algorithm="value")
        opt.step()

    def _finite(self, opt, loss: torch.Tensor) -> bool:
        """Loss and every gradient finite, agreed by all ranks (so they skip or stop together)."""
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        finite = torch.stack([torch.isfinite(loss).all()] + [torch.isfinite(g).all() for g in grads]).all()
        return bool(self.trainer.strategy.reduce_boolean_decision(bool(finite), all=True))

    def update_ema(self) -> None:
        if self.iteration <= self.ema_start:
            self.generator_ema.n_averaged.zero_()  # an empty average copies the generator
        self.generator_ema.update_parameters(self.generator)

    # ----------------------------------------------------------------------------- distributed, step counting
    def setup(self, stage: str) -> None:
        # Lightning counts two optimiser steps per SFD iteration; trainer.max_steps means iterations here.
        loop = self.trainer.fit_loop.epoch_loop
        if stage == "fit" and loop.max_steps > 0 and not getattr(self.trainer, "_sfd_max_steps_scaled", False):
            loop.max_steps *= STEPS_PER_ITERATION
            self.trainer._sfd_max_steps_scaled = True

    def on_fit_start(self) -> None:
        strategy = self.trainer.strategy
        if not self.batch_forget and self.trainer.world_size > 1:
            raise ConfigError("model.batch_forget", "false (the reference's pass order) is for single-device comparisons")
        if isinstance(strategy, DDPStrategy) and self.trainer.world_size > 1:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self._wrappers["generator"] = DistributedDataParallel(self.generator, device_ids=device_ids,
                                                                  **getattr(strategy, "_ddp_kwargs", {}))

    def on_fit_end(self) -> None:
        self._wrappers.clear()

    def configure_optimizers(self):
        optimizers = [self.fake_score_optimizer(self.fake_score.parameters()), self.generator_optimizer(self.generator.parameters())]
        if self.lr_scheduler is None:
            return optimizers
        # Lightning saves and restores the schedules' states; with manual optimisation we step them.
        return optimizers, [self.lr_scheduler(opt) for opt in optimizers]

    def _step_schedules(self, fake_opt, gen_opt) -> Dict[str, float]:
        """One schedule step per SFD iteration; the learning rates then in use, for the logs."""
        if self.lr_scheduler is not None:
            for scheduler in self.lr_schedulers():
                scheduler.step()
        return {"lr/fake_score": fake_opt.param_groups[0]["lr"], "lr/generator": gen_opt.param_groups[0]["lr"]}

    def train(self, mode: bool = True) -> "SFDModule":
        super().train(mode)
        self.teacher.eval()  # frozen at construction, whatever Lightning asks
        return self

    # ----------------------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        checkpoint["state_dict"] = drop_prefixes(checkpoint["state_dict"], FROZEN)
        checkpoint["sfd_iteration"] = self.iteration
        checkpoint["sfd_skipped_steps"] = self.skipped_steps
        version = getattr(self.trainer.logger, "version", None) if self._trainer is not None else None
        if isinstance(version, (int, str)):
            checkpoint["logger_version"] = version  # `sfd fit --ckpt_path` logs on into the same run

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """Generator, its EMA and the fake score: what a second SFD stage starts from (``init_ckpt``)."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(STAGE_ONE)}

    def export_config(self):
        return self.hparams.get("teacher")

    def on_load_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        restore_prefixes(checkpoint["state_dict"], self, FROZEN)
        self.iteration = int(checkpoint.get("sfd_iteration", 0))
        self.skipped_steps = int(checkpoint.get("sfd_skipped_steps", 0))
