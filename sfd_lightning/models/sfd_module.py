"""Score Forgetting Distillation as a LightningModule (Chen, Zhang & Zhou, ICLR 2025, Alg. 1).

Each training step is one SFD iteration: a fake-score update on the generator's detached samples,
then a generator update through the frozen teacher and the fake score (SiD, Zhou et al. 2024),
then an EMA update of the generator. Each update has its own noise and conditions (its
:class:`SFDBatch`) and its own timesteps, loss noise and condition dropout (``draw``), as in the
reference's loops. Lightning counts two optimiser steps per iteration in ``trainer.global_step``;
``self.iteration`` counts SFD iterations.
"""

from contextlib import nullcontext
from functools import partial
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, Union

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from sfd_lightning.data.class_names import resolve_label
from sfd_lightning.data.noise import UPDATES
from sfd_lightning.data.sample_blocks import block_output
from sfd_lightning.data.seeding import derive_seed
from sfd_lightning.diffusion.conditions import Condition, cat
from sfd_lightning.diffusion.denoiser import Denoiser, guided
from sfd_lightning.errors import ConfigError
from sfd_lightning.forgetting.forget_set import Concept, ForgetClass, forget_classes
from sfd_lightning.forgetting.lineage import forgotten_classes, forgotten_concepts, union_classes
from sfd_lightning.losses import denoising_loss, sid_generator_loss
from sfd_lightning.models.hparams import adam_or, save_plain_hyperparameters
from sfd_lightning.models.lora import LoRA
from sfd_lightning.models.manual_iterations import ManualIterations
from sfd_lightning.models.nonfinite import NonFiniteError, NonFiniteGuard  # noqa: F401 (NonFiniteError: public here)
from sfd_lightning.models.one_step import OneStepGenerator
from sfd_lightning.models.robust_forget import RobustForget, pushed_forget_rows
from sfd_lightning.models.sfd_batch import SFDBatch, StepDraws, build_sfd_batch
from sfd_lightning.models.sfd_lineage import RunLineage
from sfd_lightning.models.sfd_networks import build_networks, set_training, speed_options
from sfd_lightning.models.sfd_settings import Guidance, LossWeights, Timesteps
from sfd_lightning.models.unlearning_module import FROZEN, UnlearningModule
from sfd_lightning.override import ClassOverrides, OverridePolicy


def wrap_like(module: nn.Module, lightning_wrapper: DistributedDataParallel) -> DistributedDataParallel:
    """A second DDP wrapper beside Lightning's, for a network a backward of its own updates: DDP around ``module``
    with the device, process group and gradient-bucket settings of the wrapper Lightning's strategy built (so
    ``trainer.strategy`` options reach it too)."""
    return DistributedDataParallel(
        module,
        device_ids=lightning_wrapper.device_ids,
        process_group=lightning_wrapper.process_group,
        find_unused_parameters=lightning_wrapper.find_unused_parameters,
        gradient_as_bucket_view=lightning_wrapper.gradient_as_bucket_view,
        bucket_cap_mb=lightning_wrapper.bucket_bytes_cap / 2**20,
    )


def check_settings(
    teacher: Denoiser,
    timesteps: Timesteps,
    loss_weights: LossWeights,
    guidance: Guidance,
    ema_decay: float,
    grad_clip_value: Optional[float],
    lora: Optional[LoRA] = None,
    robust: RobustForget = RobustForget(),
) -> None:
    """SFD's own settings against the teacher, before any weight is read (the classes: ``UnlearningModule``)."""
    timesteps.check(teacher.schedule.num_timesteps)
    robust.check()
    if lora is not None:
        lora.targets(teacher)
    loss_weights.check()
    guidance.check()
    if not 0 <= ema_decay < 1:
        raise ConfigError("model.ema_decay", f"must be in [0, 1), got {ema_decay}")
    if grad_clip_value is not None and not grad_clip_value > 0:  # -1 would clamp every gradient to [1, -1]
        raise ConfigError("model.grad_clip_value", f"must be > 0 (or null for no clipping), got {grad_clip_value}")


class SFDModule(ManualIterations, UnlearningModule):
    """Distil a conditional teacher into a one-step generator that forgets classes or concepts."""

    def __init__(
        self,
        teacher: Denoiser,
        teacher_ckpt: Optional[str] = None,
        num_classes: int = 10,
        forget_label: Union[int, str, List[Union[int, str]]] = 0,
        override_label: Union[int, str, None, List[Union[int, str, None]]] = 1,
        override: Optional[OverridePolicy] = None,
        alpha: float = 1.2,
        loss_weights: LossWeights = LossWeights(),
        timesteps: Timesteps = Timesteps(),
        guidance: Guidance = Guidance(),
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
        channels_last: bool = False,
        compile: bool = False,
        lora: Optional[LoRA] = None,
        robust: RobustForget = RobustForget(),
        previous: Optional[str] = None,
    ):
        """
        Args:
            teacher: the pretrained denoiser (its architecture); fake score and generator start as copies.
            teacher_ckpt: weights for the teacher (EMA where present): an exported asset, a Lightning checkpoint of
                DiffusionModule, or a reference DDPM checkpoint (list format; see ``load_teacher``).
            num_classes: number of classes the teacher is conditioned on.
            forget_label: the class c_f to forget, or a list of classes to forget at once: an index, or an ImageNet
                class name for 1,000-class teachers. Forget rows go round the list, each class as often.
            override_label: the safe class c_o shown to the teacher for c_f (a fixed override; index or
                ImageNet name): one for every forgotten class, or a list with one per class (a null entry leaves that
                class to ``override``); null with ``override``.
            override: another override policy (``RandomOverride``, ``ClassifierOverride``), which never picks a
                forgotten class; needs override_label null (or null entries in its list).
            alpha: SiD's alpha in the generator loss.
            loss_weights: the weights of the four loss terms (fake score / generator, retained / forget rows).
            timesteps: t_min and t_max bound the losses' timesteps; t_init is the generator's one step.
            guidance: classifier-free guidance scales of the teacher and the fake score inside the losses, and
                the fake score's condition dropout.
            fake_score_optimizer: optimiser for the fake score (default Adam lr 1e-5, betas (0, 0.999)).
            generator_optimizer: optimiser for the generator (default Adam lr 1e-5, betas (0, 0.999)).
            lr_scheduler: schedule for each of the two optimisers, stepped once per SFD iteration (e.g. ``MultiStepLR``,
                milestones in iterations, or ``LinearLR``); null keeps the rates constant (the reference).
            grad_clip_value: clip every gradient element to this magnitude; null for none.
            clip_fake_score: false clips the generator's gradients only (the reference's SD loop).
            ema_decay: decay of the generator's exponential moving average.
            ema_start: iteration from which the EMA averages (before it, it copies the generator).
            init_ckpt: two-stage SFD: start the generator, its EMA and the fake score from a stage-1
                (distillation-only) SFD checkpoint, exported ``sfd`` asset or reference SiD/SFD checkpoint.
            on_nonfinite: when a loss or gradient is NaN/inf: ``skip`` the update or ``stop`` the run (the weights
                never see it), or ``drop`` non-finite samples and gradients (the reference's SD loop); logged as
                ``nonfinite/skipped`` and ``nonfinite/dropped``.
            seed: seed of the training randomness (timesteps, loss noise, random overrides); iteration i
                on rank r draws from (seed, i, r), so a resumed run repeats the uninterrupted one.
            autoencoder: for latent teachers (DiT): the frozen autoencoder whose ``decode`` turns latents
                into images for metrics and grids; never trained, never checkpointed.
            channels_last: keep the convolutional networks' activations in channels-last memory format (GPU speed).
            compile: ``torch.compile`` the three networks' forward passes.
            lora: LoRA SFD: the fake score and the generator as LoRA adapters (rank, alpha, target modules) on one
                frozen copy of the teacher's weights, which stays the teacher; only the adapters train and are
                checkpointed (with the merged EMA generator). null: full fine-tuning, as the reference.
            robust: robust SFD: the forget rows' noise pushed adversarially inside a ball before each iteration (the
                teacher scoring them; ``models/robust_forget.py``); off by default (``noise_eps: 0``).
            previous: a sequential request: a released SFD generator of this teacher (an ``sfd export`` folder or an
                SFD checkpoint) to start from and forget more; the run forgets the union of what its lineage
                forgot and this request, and records itself as the lineage's next step. Excludes ``init_ckpt``. A
                release without a lineage, or of another teacher, is refused.
        """
        check_settings(teacher, timesteps, loss_weights, guidance, ema_decay, grad_clip_value, lora, robust)
        self.run_lineage = RunLineage.of(previous, init_ckpt)  # read before any weight: a refusal costs nothing
        request = forget_classes(forget_label, override_label, num_classes, resolve_label=resolve_label)
        classes = union_classes(
            forgotten_classes(self.run_lineage.before, "model.previous"), request, "model.forget_label"
        )
        super().__init__(
            teacher,
            teacher_ckpt,
            num_classes,
            classes[0].label,
            ClassOverrides.build(classes, override),
            autoencoder,
        )  # checks the classes, then loads and freezes the teacher
        self.run_lineage.check_teacher(self.teacher)
        self.request, self._forget_classes = request, classes
        save_plain_hyperparameters(self)
        self.automatic_optimization = False
        self.alpha = alpha
        self.loss_weights, self.timesteps, self.guidance = loss_weights, timesteps, guidance
        self.grad_clip_value, self.clip_fake_score, self.ema_start, self.seed = (
            grad_clip_value,
            clip_fake_score,
            ema_start,
            seed,
        )
        self.fake_score_optimizer = adam_or(fake_score_optimizer, lr=1e-5)
        self.generator_optimizer = adam_or(generator_optimizer, lr=1e-5)
        self.lr_scheduler = lr_scheduler
        self.guard = NonFiniteGuard(on_nonfinite)
        self.lora, self.robust = lora, robust  # lora: the setting; what it changes, the networks object owns
        # Full or LoRA fine-tuning is decided here, once: the networks object says what trains, what is checkpointed
        # and what is exported. A plain object (not a submodule): the state dict's names stay the networks' own.
        start, field = (previous, "model.previous") if previous else (init_ckpt, "model.init_ckpt")
        self.networks = build_networks(self.teacher, ema_decay, start, lora, field)
        self.fake_score, self.generator, self.generator_ema = (
            self.networks.fake_score,
            self.networks.generator,
            self.networks.generator_ema,
        )
        speed_options((self.teacher, self.fake_score, self.generator), channels_last, compile)
        self.iteration = 0
        # DDP leaves the frozen teacher alone (no broadcast, no reducer); the generator gets its own
        # DDP wrapper in on_fit_start because it is updated by a different backward than the fake score.
        self._ddp_params_and_buffers_to_ignore = [
            k for k in self.state_dict() if k.startswith(FROZEN + ("generator.",))
        ]
        # The generator's DDP wrapper, in a plain dict: an attribute would make it a submodule and put it in
        # checkpoints.
        self._ddp: Dict[str, DistributedDataParallel] = {}

    @property
    def forgets(self) -> bool:
        """False for pure distillation (stage 1 of two-stage SFD): both forget weights are 0."""
        return self.loss_weights.forgets

    @property
    def forget_classes(self) -> Tuple[ForgetClass, ...]:
        """Every class this run forgets (a sequential step's release's, then its request's); none for prompts."""
        return () if self.prompt_conditioned else self._forget_classes

    @property
    def forget_concepts(self) -> Tuple[Concept, ...]:
        """The concepts a sequential step's release forgot (the prompt data module adds its own request)."""
        return forgotten_concepts(self.run_lineage.before, "model.previous") if self.prompt_conditioned else ()

    @property
    def skipped_steps(self) -> int:
        return self.guard.skipped

    # ----------------------------------------------------------------------------- sampling
    def one_step(self, ema: bool = False) -> OneStepGenerator:
        """The generator (or its EMA) as ``G(z, labels)``: one step from pure noise z ~ N(0, I)."""
        return OneStepGenerator(self.generator_ema.module if ema else self.generator, self.timesteps.t_init)

    def sample_images(self, noise: torch.Tensor, conditions: Condition) -> torch.Tensor:
        """The EMA generator's images: one network evaluation each, decoded for latent models."""
        with self.precision_context():
            x = self.one_step(ema=True)(noise, conditions).float()
        return self.decode(x)

    # ----------------------------------------------------------------------------- one SFD iteration
    def training_step(self, batch: Dict[str, Dict[str, Any]], batch_idx: int) -> None:
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # A stream of its own (the data's noise comes from the same (seed, iteration, rank)), for the draws
            # and a random override's picks: a resumed run repeats the uninterrupted one.
            torch.manual_seed(derive_seed(self.seed, self.iteration, self.global_rank, stream="sfd-draws"))
            batches = {name: self.sfd_batch(batch[name]) for name in UPDATES}
            draws = {name: self.draw(name, batches[name].z) for name in UPDATES}
            batches = self.robust_batches(batches, draws)
            fake_opt, gen_opt = self.optimizers()
            logs = self.fake_score_step(fake_opt, batches["fake_score"], draws["fake_score"])
            logs.update(self.generator_step(gen_opt, batches["generator"], draws["generator"]))
        self.iteration += 1
        self.update_ema()
        logs.update(self.step_schedules(UPDATES))
        self._log_iteration(logs, batches["generator"].n_retained)

    def sfd_batch(self, update: Dict[str, Any]) -> SFDBatch:
        """An update's rows from its data batch (noise ``z`` (N, C, H, W) and retained ``labels`` (B,) or
        prompts, N = 2B while forgetting; prompt batches also bring ``forget_labels``, the teacher's
        ``override_labels`` and optionally ``negative_labels``): retained rows, then forget rows, whose
        teacher condition is the override prompts or the override policy's pick."""
        policy = partial(self.override, num_classes=self.num_classes)
        return build_sfd_batch(update, self.forgets, self.forget_label, policy)

    def draw(self, update: str, z: torch.Tensor) -> StepDraws:
        """The random draws of one update (``fake_score`` or ``generator``) for the rows of its noise ``z``:
        t ~ U{t_min, ..., t_max - 1} as sigma, the loss noise, and the fake-score update's condition dropout."""
        n = len(z)
        t = torch.randint(self.timesteps.t_min, self.timesteps.t_max, (n,), device=self.device)
        noise = torch.randn_like(z)
        drop = None
        if update == "fake_score" and self.guidance.dropout > 0:
            drop = torch.rand(n, device=z.device) < self.guidance.dropout
        return StepDraws(self.teacher.schedule.sigmas[t], noise, drop)

    def robust_batches(self, batches: Dict[str, SFDBatch], draws: Dict[str, StepDraws]) -> Dict[str, SFDBatch]:
        """Robust SFD (``robust``): each update's batch with its forget rows pushed where the option applies, and with
        ``shared``, the fake score's forget rows replaced by the generator's pushed ones; off, the batches as they
        are."""
        batches = {name: self.robust_rows(name, batches[name], draws[name]) for name in UPDATES}
        if self.robust.shares:
            batches["fake_score"] = batches["fake_score"].with_forget_rows_of(batches["generator"])
        return batches

    def robust_rows(self, update: str, batch: SFDBatch, draws: StepDraws) -> SFDBatch:
        """The update's forget rows with their noise pushed up the teacher's margin; for an update the option does
        not apply to, the batch as it is."""
        if not self.robust.applies_to(update):
            return batch
        set_training(self.generator, False)
        null = batch.null_labels[batch.n_retained :]
        teacher = self._guided(self.teacher, self.guidance.teacher, cat(null, null))  # 2B rows a call
        return pushed_forget_rows(batch, draws, self.robust, teacher, self.one_step())

    def fake_score_step(self, opt, batch: SFDBatch, draws: StepDraws) -> Dict[str, torch.Tensor]:
        """Alg. 1, fake-score update: its denoising loss on the generator's detached samples."""
        if draws.drop is not None:
            batch = batch.dropped(draws.drop)
        remain, forget = self.guard.means(self.fake_score_loss(batch, draws), batch.n_retained)
        w = self.loss_weights
        self.guarded_step(opt, w.sg_remain * remain + w.sg_forget * forget, "fake-score", clip=self.clip_fake_score)
        return {"loss/fake_score_remain": remain.detach(), "loss/fake_score_forget": forget.detach()}

    def fake_score_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        """Per-sample denoising loss (Eq. 7) of the fake score on x_g = G(z, c), which gets no gradient."""
        with torch.no_grad():
            set_training(self.generator, False)
            x_g = self.one_step()(batch.z, batch.labels)
        fake_score = self._guided(self.fake_score, self.guidance.fake_score_train, batch.null_labels)
        return denoising_loss(fake_score, x_g, draws.sigma, draws.noise, batch.labels)

    def generator_step(self, opt, batch: SFDBatch, draws: StepDraws) -> Dict[str, torch.Tensor]:
        """Alg. 1, generator update: SiD's loss through the frozen teacher (the override on forget rows) and the fake
        score."""
        set_training(self.generator, True)
        set_training(self.fake_score, False)
        fake_params = self.networks.trainable(self.fake_score)
        for p in fake_params:  # the loss's gradient goes to the generator only
            p.requires_grad_(False)
        remain, forget = self.guard.means(self.generator_loss(batch, draws), batch.n_retained)
        w = self.loss_weights
        # The generator's own DDP wrapper averages its gradients; Lightning's wrapper (fake score) sits this one out.
        with self.trainer.strategy.block_backward_sync() if self._ddp else nullcontext():
            self.guarded_step(opt, w.g_remain * remain + w.g_forget * forget, "generator", clip=True)
        for p in fake_params:
            p.requires_grad_(True)
        set_training(self.fake_score, True)
        return {"loss/generator_remain": remain.detach(), "loss/generator_forget": forget.detach()}

    def generator_loss(self, batch: SFDBatch, draws: StepDraws) -> torch.Tensor:
        """Per-sample SiD generator loss (Eq. 8) of x_g = G(z, c), the teacher conditioned on ``batch.teacher``."""
        generator = self._ddp.get("generator") or self.one_step()
        x_g = generator(batch.z, batch.labels)
        teacher = self._guided(self.teacher, self.guidance.teacher, batch.null_labels)
        fake_score = self._guided(self.fake_score, self.guidance.fake_score, batch.null_labels)
        return sid_generator_loss(
            teacher, fake_score, x_g, draws.sigma, draws.noise, batch.teacher, batch.labels, alpha=self.alpha
        )

    @staticmethod
    def _guided(denoiser: Denoiser, scale: float, null_labels) -> Callable:
        """``denoiser``, guided when ``scale`` is not 1 (the unconditional branch on ``null_labels``)."""
        if scale == 1.0:
            return denoiser
        return lambda x, sigma, labels: guided(denoiser, x, sigma, labels, scale, null_labels)

    def update_ema(self) -> None:
        if self.iteration <= self.ema_start:
            self.generator_ema.n_averaged.zero_()  # an empty average copies the generator
        self.generator_ema.update_parameters(self.generator)

    def _log_iteration(self, logs: Dict[str, Any], batch_size: int) -> None:
        self.log_dict(logs, prog_bar=True, on_step=True, batch_size=batch_size)
        # step: the loggers' x-axis (SFDWandbLogger also writes it as ``iteration``)
        counters = {"step": self.iteration, "nonfinite/skipped": self.guard.skipped}
        if self.guard.policy == "drop":
            counters["nonfinite/dropped"] = self.guard.dropped
        self.log_dict({k: float(v) for k, v in counters.items()}, on_step=True, batch_size=1)

    # ----------------------------------------------------------------------------- optimisers, DDP
    def configure_optimizers(self):
        optimizers = [
            self.fake_score_optimizer(self.networks.trainable(self.fake_score)),
            self.generator_optimizer(self.networks.trainable(self.generator)),
        ]
        if self.lr_scheduler is None:
            return optimizers
        # Lightning saves and restores the schedules' states; with manual optimisation we step them.
        return optimizers, [self.lr_scheduler(opt) for opt in optimizers]

    def on_fit_start(self) -> None:
        lightning_wrapper = self.trainer.strategy.model
        if isinstance(lightning_wrapper, DistributedDataParallel):
            self._ddp["generator"] = wrap_like(self.one_step(), lightning_wrapper)

    def on_fit_end(self) -> None:
        self._ddp.clear()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """``sfd validate --ckpt_path ...``: nothing per batch; the metric callbacks evaluate the checkpoint."""

    def predict_step(self, batch: Dict[str, Any], batch_idx: int) -> Dict[str, Any]:
        """``sfd predict --ckpt_path ...``: the EMA generator's images of one block of noise and labels (or prompts)."""
        return block_output(batch, self.sample_images(batch["noise"], batch["conditions"]))

    # ----------------------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)  # the frozen networks left out
        checkpoint["state_dict"] = self.networks.checkpoint_state(checkpoint["state_dict"])  # LoRA: and the bases
        checkpoint["sfd_iteration"] = self.iteration
        checkpoint["sfd_skipped_steps"] = self.guard.skipped
        self.run_lineage.save(checkpoint, self.lineage_step())
        logger = self.trainer.logger if self._trainer is not None else None
        version = logger.version if logger is not None else None
        if isinstance(version, (int, str)):
            checkpoint["logger_version"] = version  # `sfd fit --ckpt_path` logs on into the same run

    def on_load_checkpoint(self, checkpoint: Dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)  # the live frozen networks put back
        self.networks.restore_checkpoint_state(checkpoint["state_dict"])  # LoRA: and the frozen bases
        self.iteration = int(checkpoint.get("sfd_iteration", 0))
        self.guard.skipped = int(checkpoint.get("sfd_skipped_steps", 0))
        self.run_lineage.load(checkpoint)

    def lineage_step(self) -> Dict[str, Any]:
        """What this run forgets on top of its release (its request: classes, or the data module's concepts), a hash
        of its settings, and its teacher: the lineage's step for this run."""
        data = self.trainer.datamodule if self._trainer is not None else None
        if not self.forgets:
            forget = {}
        elif self.prompt_conditioned:
            forget = self.run_lineage.prompt_request(data)
        else:
            forget = {"classes": [c.as_dict() for c in self.request]}
        return self.run_lineage.step(forget, {"model": dict(self.hparams), "forget": forget})

    def export_state_dict(self) -> Dict[str, torch.Tensor]:
        """Generator, its EMA and the fake score: what a second SFD stage starts from (``init_ckpt``); LoRA SFD's
        EMA generator and fake score with their adapters merged, in the same layout."""
        return self.networks.export_state_dict()
