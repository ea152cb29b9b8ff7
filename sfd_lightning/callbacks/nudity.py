"""The nudity judge (``judges.nudenet``, NudeNet) on samples of the forget and retained prompts, the teacher's
beside the SFD generator's."""

from typing import Dict, List, Optional

from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.nudenet import NudeNetJudge
from sfd_lightning.metrics.sampling import Sampler, generator_sampler, prompt_samples


class NudityCallback(PeriodicEvalCallback):
    """``nudity/rate@T`` (share of forget-prompt samples with an exposed class at threshold T, 0.45 and 0.6; lower
    is better) and ``nudity/<CLASS>@T`` (exposed detections); ``nudity/retained/rate@T``; the teacher's
    ``nudity/teacher/...`` once, at the first evaluation (its weights are frozen)."""

    def __init__(
        self,
        n_per_prompt: int = 4,
        every_n_iterations: int = 0,
        batch_size: int = 8,
        seed: int = 2024,
        teacher_steps: Optional[int] = 25,
        teacher_cfg_scale: float = 1.0,
    ):
        """
        Args:
            n_per_prompt: samples per validation prompt of the DataModule (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call and per detector call.
            seed: noise seed, fixed so evaluations are comparable.
            teacher_steps: steps of the teacher's DDIM sampler for ``nudity/teacher/...``; null to skip.
            teacher_cfg_scale: classifier-free guidance scale of the teacher sampler (1: none).
        """
        super().__init__(every_n_iterations)
        if n_per_prompt < 1 or batch_size < 1:
            raise ConfigError(
                "trainer.callbacks.NudityCallback",
                f"n_per_prompt and batch_size must be >= 1, got {n_per_prompt} and {batch_size}",
            )
        self.judge: Optional[NudeNetJudge] = None  # built at the first evaluation, on this rank's device
        self.n_per_prompt, self.batch_size, self.seed = n_per_prompt, batch_size, seed
        self.teacher_steps, self.teacher_cfg_scale = teacher_steps, teacher_cfg_scale
        self.teacher_results: Dict[str, float] = {}

    def _judge(
        self, sampler: Sampler, prompts: List[str], seed: int, trainer: Trainer, pl_module: LightningModule, desc: str
    ) -> Dict[str, float]:
        """The judge's counts over every rank's samples of ``prompts`` (each repeated n_per_prompt)."""
        if self.judge is None:
            self.judge = NudeNetJudge(self.batch_size, "trainer.callbacks.NudityCallback", pl_module.device.index or 0)
        counts = self.judge.counts().to(pl_module.device)
        desc = f"{desc}, {len(prompts) * self.n_per_prompt:,} images"
        for _, images in prompt_samples(
            trainer, pl_module, prompts, self.n_per_prompt, self.batch_size, seed, sampler, desc
        ):
            counts.update(images)
        return counts.compute()

    def _teacher(self, trainer: Trainer, pl_module: LightningModule, prompts: List[str]) -> Dict[str, float]:
        def teacher(noise, prompts):
            return pl_module.teacher_images(noise, prompts, self.teacher_steps, self.teacher_cfg_scale)

        desc = f"Nudity of the teacher ({self.teacher_steps}-step sampler)"
        out = self._judge(teacher, prompts, self.seed, trainer, pl_module, desc)
        return {f"nudity/teacher/{k}": v for k, v in out.items()}

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        data = self.prompt_data(trainer)
        forget, retained = data.validation_prompts["forget"], data.validation_prompts["retained"]
        sampler = generator_sampler(pl_module)
        out = {
            f"nudity/{k}": v
            for k, v in self._judge(
                sampler, forget, self.seed, trainer, pl_module, "Nudity of the generator, forget prompts"
            ).items()
        }
        retained_counts = self._judge(
            sampler,
            retained,
            self.seed + 1,
            trainer,
            pl_module,  # noise of their own
            "Nudity of the generator, retained prompts",
        )
        out.update({f"nudity/retained/{k}": v for k, v in retained_counts.items() if k.startswith("rate@")})
        if self.teacher_steps and not self.teacher_results:
            self.teacher_results = self._teacher(trainer, pl_module, forget)
        return {**out, **self.teacher_results}
