"""Score Forgetting Distillation as a LightningModule (Chen, Zhang & Zhou, ICLR 2025, Alg. 1).

Each training step is one SFD iteration: a fake-score update on the generator's detached samples,
then a generator update through the frozen teacher and the fake score (SiD, Zhou et al. 2024),
then an EMA update of the generator. Each update has its own noise and conditions (the batch) and
its own timesteps, loss noise and condition dropout (``draw``), as in the reference's loops.
Lightning counts two optimiser steps per iteration in ``trainer.global_step``; ``self.iteration``
counts SFD iterations.
"""
import copy
import os
import weakref
from contextlib import nullcontext
from functools import partial
from typing import Any, Callable, Dict, Literal, Optional, Union

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sfd_lightning.checkpoints import load_network, read_any
from sfd_lightning.class_names import resolve_label
from sfd_lightning.data.noise import UPDATES
from sfd_lightning.data.sample_blocks import block_output
from sfd_lightning.diffusion.denoiser import Denoiser, guided
from sfd_lightning.errors import ConfigError
from sfd_lightning.losses import denoising_loss, sid_generator_loss
from sfd_lightning.models.frozen import drop_prefixes, freeze, restore_prefixes
from sfd_lightning.models.hparams import save_plain_hyperparameters
from sfd_lightning.models.optim import adam_or
from sfd_lightning.models.sfd_batch import SFDBatch, StepDraws, build_sfd_batch
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
        clip_fake_score: bool = True,
        ema_decay: float = 0.9999,
        ema_start: int = 0,
        init_ckpt: Optional[str] = None,
        on_nonfinite: Literal["skip", "stop", "drop"] = "skip",
        seed: int = 0,
        autoencoder: Optional[nn.Module] = None,
        teacher_cfg_scale: float = 1.0,
        fake_score_cfg_scale: float = 1.0,
        fake_score_train_cfg_scale: float = 1.0,
        fake_score_label_dropout: Optional[float] = None,
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
            clip_fake_score: false clips the generator's gradients only (the reference's SD loop).
            ema_decay: decay of the generator's exponential moving average.
            ema_start: iteration from which the EMA averages (before it, it copies the generator).
            init_ckpt: two-stage SFD: start the generator, its EMA and the fake score from a stage-1
                (distillation-only) SFD checkpoint, exported ``sfd`` asset or reference SiD/SFD checkpoint.
            on_nonfinite: when a loss or gradient is NaN/inf: ``skip`` the update (counted in
                ``nonfinite/skipped``) or ``stop`` the run with an error, and the weights never see it; or
                ``drop`` (the reference's SD loop): leave non-finite samples out of the losses (counted in
                ``nonfinite/dropped``) and zero NaN gradients (infinities become +-1e5) before the step.
            autoencoder: for latent teachers (DiT): the frozen autoencoder whose ``decode`` turns latents
                into images for metrics and grids; never trained, never checkpointed.
            teacher_cfg_scale: classifier-free guidance scale of the teacher inside the generator loss (1: none).
            fake_score_cfg_scale: the same for the fake score (1: none).
            fake_score_train_cfg_scale: guidance scale of the fake score inside its own denoising loss (the
                reference trains SD's fake score at 4.5, like the scales above; 1: none).
            fake_score_label_dropout: fraction of the fake-score update's rows whose condition is replaced by
                the null condition (label -1, the empty prompt), so the fake score's unconditional branch keeps
                learning; null: 0.1 when the fake score is guided (either scale above not 1), else 0, as the reference.
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
        self.cfg_scales = dict(teacher=teacher_cfg_scale, fake_score=fake_score_cfg_scale,
                               fake_score_train=fake_score_train_cfg_scale)
        if fake_score_label_dropout is None:
            fake_score_label_dropout = 0.1 if fake_score_cfg_scale != 1 or fake_score_train_cfg_scale != 1 else 0.0
        self.fake_score_label_dropout = fake_score_label_dropout
        self.t_min, self.t_init, self.t_max = t_min, t_init, t_max
        self.coefs = dict(sg_remain=sg_remain_coef, sg_forget=sg_forget_coef, g_remain=g_remain_coef, g_forget=g_forget_coef)
        self.grad_clip_value, self.ema_decay, self.ema_start = grad_clip_value, ema_decay, ema_start
        self.clip_fake_score = clip_fake_score
        self.fake_score_optimizer = adam_or(fake_score_optimizer, lr=1e-5)
        self.generator_optimizer = adam_or(generator_optimizer, lr=1e-5)
        self.lr_scheduler = lr_scheduler
        self.override = self._override_policy(override_label, override)
        self._validate(teacher)
        self._build_networks(teacher, teacher_ckpt, init_ckpt)
        self.autoencoder = freeze(autoencoder) if autoencoder is not None else None
        self._speed_options(channels_last, compile)
        self.on_nonfinite, self.seed, self.batch_forget = on_nonfinite, seed, batch_forget
        self.iteration, self.skipped_steps, self.dropped_samples = 0, 0, 0
        # DDP leaves the frozen teacher alone (no broadcast, no reducer); the generator gets its own
        # DDP wrapper in on_fit_start because it is updated by a different backward than the fake score.
        self._ddp_params_and_buffers_to_ignore = [k for k in self.state_dict() if k.startswith(FROZEN + ("generator.",))]
        self._wrappers: Dict[str, DistributedDataParallel] = {}  # a plain dict: not a submodule, not in checkpoints
        self._doubled_loop: Optional[weakref.ref] = None  # the fit loop whose max_steps now counts iterations

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
        # The copy already is the average of one model; otherwise the first update would copy instead of averaging.
        self.generator_ema.n_averaged.fill_(1)
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
        if self.hparams.on_nonfinite not in ("skip", "stop", "drop"):
            raise ConfigError("model.on_nonfinite", f"must be skip, stop or drop, got {self.hparams.on_nonfinite!r}")
        if not 0 <= self.fake_score_label_dropout < 1:
            raise ConfigError("model.fake_score_label_dropout", f"must be in [0, 1), got {self.fake_score_label_dropout}")

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
    def training_step(self, batch: Dict[str, Dict[str, Any]], batch_idx: int) -> None:
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # A stream of its own: the data's noise comes from the same (seed, iteration, rank).
            torch.manual_seed(derive_seed(self.seed, self.iteration, self.global_rank, stream="sfd-draws"))
            batches = {name: self.sfd_batch(batch[name]) for name in UPDATES}
            self._iterate(batches, {name: self.draw(name, batches[name].z) for name in UPDATES})

    def draw(self, update: str, z: torch.Tensor) -> StepDraws:
        """The random draws of one update (``fake_score`` or ``generator``) for the rows of its noise ``z``:
        t ~ U{t_min, ..., t_max - 1} as sigma, the loss noise, and the fake-score update's condition dropout."""
        n = len(z)
        sigma = self.sample_sigma(n)
        noise = torch.randn_like(z)
        drop = None
        if update == "fake_score" and self.fake_score_label_dropout > 0:
            drop = torch.rand(n, device=z.device) < self.fake_score_label_dropout
        return StepDraws(sigma, noise, drop)

    def _iterate(self, batches: Dict[str, SFDBatch], draws: Dict[str, StepDraws]) -> None:
        fake_opt, gen_opt = self.optimizers()
        logs = self.fake_score_step(fake_opt, batches["fake_score"], draws["fake_score"])
        logs.update(self.generator_step(gen_opt, batches["generator"], draws["generator"]))
        self.iteration += 1
        self.update_ema()
        logs.update(self._step_schedules(fake_opt, gen_opt))
        self.log_dict(logs, prog_bar=True, on_step=True, batch_size=batches["generator"].n_retained)
        self.log("iteration", float(self.iteration), on_step=True, batch_size=1)
        self.log("step", float(self.iteration), on_step=True, batch_size=1)  # the loggers' x-axis: this iteration
        self.log("nonfinite/skipped", float(self.skipped_steps), on_step=True, batch_size=1)
        if self.on_nonfinite == "drop":
            self.log("nonfinite/dropped", float(self.dropped_samples), on_step=True, batch_size=1)

    def sfd_batch(self, update: Dict[str, Any]) -> SFDBatch:
        """An update's rows from its data batch (noise ``z`` (N, C, H, W) and retained ``labels`` (B,) or
        prompts, N = 2B while forgetting; prompt batches also bring ``forget_labels``, the teacher's
        ``override_labels`` and optionally ``negative_labels``): retained rows, then forget rows, whose
        teacher condition is the override prompts or the override policy's pick."""
        policy = partial(self.override, forget_label=self.forget_label, num_classes=self.num_classes)
        return build_sfd_batch(update, self.forgets, self.forget_label, policy)

    def fake_score_step(self, opt, batch: SFDBatch, draws: StepDraws) -> Dict[str, torch.Tensor]:
        """Denoising loss of the fake score on the generator's detached samples (dropout: on both)."""
        self.toggle_optimizer(opt)
        if draws.drop is not None:
            batch = batch.dropped(draws.drop)
        per_sample = self._in_passes(self._fake_score_loss, batch, draws)
        remain, forget = self._reduce(per_sample, batch.n_retained)
        loss = self.coefs["sg_remain"] * remain + self.coefs["sg_forget"] * forget
        self._step(opt, loss, "fake-score", clip=self.clip_fake_score)
        self.untoggle_optimizer(opt)
        return {"loss/fake_score_remain": remain.detach(), "loss/fake_score_forget": forget.detach()}

    def _fake_score_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        with torch.no_grad():
            self.generator.eval()
            x_g = self.generate(batch.z, batch.labels)
        fake_score = self._guided("fake_score_train", batch.null_labels)
        return denoising_loss(fake_score, x_g, draws.sigma, draws.noise, batch.labels)

    def generator_step(self, opt, batch: SFDBatch, draws: StepDraws) -> Dict[str, torch.Tensor]:
        """SiD generator loss through the frozen teacher and the fake score; forget rows ask the teacher for the override."""
        self.toggle_optimizer(opt)
        self.generator.train()
        self.fake_score.eval()
        per_sample = self._in_passes(self._generator_loss, batch, draws)
        remain, forget = self._reduce(per_sample, batch.n_retained)
        loss = self.coefs["g_remain"] * remain + self.coefs["g_forget"] * forget
        # The generator's own DDP wrapper averages its gradients; Lightning's wrapper (fake score) sits this one out.
        with self.trainer.strategy.block_backward_sync() if self._wrappers else nullcontext():
            self._step(opt, loss, "generator", clip=True)
        self.fake_score.train()
        self.untoggle_optimizer(opt)
        return {"loss/generator_remain": remain.detach(), "loss/generator_forget": forget.detach()}

    def _generator_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        generator = self._wrappers.get("generator", self.generator)
        x_g = generator(self.sigma_init * batch.z, self.sigma_init, batch.labels)
        teacher, fake_score = self._guided("teacher", batch.null_labels), self._guided("fake_score", batch.null_labels)
        return sid_generator_loss(teacher, fake_score, x_g, draws.sigma, draws.noise, batch.teacher, batch.labels,
                                  alpha=self.alpha)

    def _in_passes(self, loss_fn: Callable[[SFDBatch, StepDraws], torch.Tensor], batch: SFDBatch,
                   draws: StepDraws) -> torch.Tensor:
        """Per-sample ``loss_fn`` on all rows in one pass, or on the retained and the forget rows in turn
        (``batch_forget: false``, the reference's order)."""
        if self.batch_forget or not batch.forgets or batch.n_retained == 0:
            return loss_fn(batch, draws)
        halves = zip(batch.halves(), draws.halves(batch.n_retained))
        return torch.cat([loss_fn(b, d) for b, d in halves])

    def _guided(self, name: str, null_labels) -> Callable:
        """The teacher or fake score (``fake_score``, ``fake_score_train``), guided when its scale is not 1."""
        denoiser, scale = (self.teacher if name == "teacher" else self.fake_score), self.cfg_scales[name]
        if scale == 1.0:
            return denoiser
        return lambda x, sigma, labels: guided(denoiser, x, sigma, labels, scale, null_labels)

    def _reduce(self, per_sample: torch.Tensor, n_retained: int):
        """Batch means of the retained and the forget rows; ``drop`` leaves non-finite rows out (as zeros)."""
        if self.on_nonfinite == "drop":
            finite = torch.isfinite(per_sample)
            self.dropped_samples += int((~finite).sum())
            per_sample = torch.where(finite, per_sample, torch.zeros_like(per_sample))
        remain, forget = per_sample[:n_retained], per_sample[n_retained:]
        return remain.mean(), (forget.mean() if len(forget) else per_sample.new_zeros(()))

    def _step(self, opt, loss: torch.Tensor, name: str, clip: bool) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.on_nonfinite == "drop":
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        torch.nan_to_num_(p.grad, nan=0.0, posinf=1e5, neginf=-1e5)
        elif not self._finite(opt, loss):
            if self.on_nonfinite == "stop":
                raise NonFiniteError(f"SFD iteration {self.iteration}: the {name} loss or its gradients are not finite "
                                     "(model.on_nonfinite=stop); checkpoints saved so far are intact. Lower the learning "
                                     "rates or set model.on_nonfinite=skip, and resume with --ckpt_path")
            self.skipped_steps += 1
            opt.zero_grad(set_to_none=True)  # the step below then changes no weight and no optimiser state
            opt.step()
            return
        if clip and self.grad_clip_value is not None:
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
        # Once per trainer: setup runs again for every fit call. A weak reference: no trainer kept alive or copied.
        loop = self.trainer.fit_loop.epoch_loop
        if stage == "fit" and loop.max_steps > 0 and (self._doubled_loop is None or self._doubled_loop() is not loop):
            loop.max_steps *= STEPS_PER_ITERATION
            self._doubled_loop = weakref.ref(loop)

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

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """``sfd validate --ckpt_path ...``: nothing per batch; the metric callbacks evaluate the checkpoint."""

    def predict_step(self, batch: Dict[str, Any], batch_idx: int) -> Dict[str, Any]:
        """``sfd predict --ckpt_path ...``: the EMA generator's images of one block of noise and labels (or prompts)."""
        return block_output(batch, self.decode(self.generate(batch["noise"], batch["conditions"], ema=True)))

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
