"""Forgetting judged by a classifier for prompt-conditioned generators (the captioned-digits default).

Each validation prompt names one class by a word (``class_words``, e.g. "seven" is class 7). Samples
for the forget prompts that the classifier still assigns to the forgotten class count towards
``forget/accuracy``; samples for retained prompts count towards ``retained/accuracy``, against the
class their prompt names. With several concepts, each concept's forget prompts name its class:
``forget/accuracy_<concept>`` per concept (spaces as ``_``), ``forget/accuracy`` the worst of them and
``forget/accuracy_mean``. Keys match :class:`ForgetAccuracyCallback`'s, so reports read the same.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.data.prompts import PromptDataModule, class_of
from sfd_lightning.data.sample_blocks import rank_blocks
from sfd_lightning.errors import ConfigError
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.metrics.forget import ForgetMetrics
from sfd_lightning.metrics.sampling import generator_sampler, sample_shape


class PromptAccuracyCallback(PeriodicEvalCallback):
    """Generate ``n_per_prompt`` samples for each of the DataModule's validation prompts and classify them."""

    def __init__(
        self,
        classifier_ckpt: str,
        class_words: Sequence[str],
        n_per_prompt: int = 50,
        every_n_iterations: int = 0,
        batch_size: int = 500,
        seed: int = 1234,
    ):
        """
        Args:
            classifier_ckpt: exported classifier asset that judges the samples.
            class_words: the word naming each class, in class order (e.g. zero..nine).
            n_per_prompt: samples per validation prompt (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable.
        """
        super().__init__(every_n_iterations)
        field = "trainer.callbacks.PromptAccuracyCallback.classifier_ckpt"
        self.judge = ClassifierJudge.load(classifier_ckpt, field)
        self.class_words, self.n_per_prompt, self.batch_size, self.seed = (
            list(class_words),
            n_per_prompt,
            batch_size,
            seed,
        )

    def _prompts(self, trainer: Trainer) -> Dict[str, List[str]]:
        data = self.prompt_data(trainer)
        return {**data.validation_prompts, "override": data.validation_overrides}

    def _forgotten(
        self, data: PromptDataModule, prompts: Dict[str, List[str]]
    ) -> Tuple[Union[int, List[int]], Union[int, List[int]], Optional[List[str]]]:
        """The forgotten class, override class and key name of each concept, from its first validation forget
        prompt and that prompt's override; one concept: its classes alone (the keys of single-concept runs)."""
        firsts: Dict[object, int] = {}
        for i, p in enumerate(prompts["forget"]):
            firsts.setdefault(data.validation_concepts.get(p), i)
        if len(firsts) <= 1:
            return (
                class_of(prompts["forget"][0], self.class_words),
                class_of(prompts["override"][0], self.class_words),
                None,
            )
        forget = [class_of(prompts["forget"][i], self.class_words) for i in firsts.values()]
        override = [class_of(prompts["override"][i], self.class_words) for i in firsts.values()]
        if len(set(forget)) < len(forget):
            raise ConfigError(
                "trainer.callbacks.PromptAccuracyCallback.class_words",
                f"two forgotten concepts name the same class ({forget}); each concept needs a class of its own",
            )
        return forget, override, [c.concept.replace(" ", "_") for c in firsts]

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        prompts = self._prompts(trainer)
        forget_class, override_class, names = self._forgotten(self.prompt_data(trainer), prompts)
        chosen = [p for p in prompts["forget"] + prompts["retained"] for _ in range(self.n_per_prompt)]
        targets = torch.tensor([class_of(p, self.class_words) for p in chosen], device=pl_module.device)
        metric = ForgetMetrics(len(self.class_words), forget_class, override_class, names).to(pl_module.device)
        self.judge.to(pl_module.device)
        sample = generator_sampler(pl_module)
        for start, noise, block in rank_blocks(
            chosen, sample_shape(trainer), self.batch_size, self.seed, trainer.global_rank, trainer.world_size
        ):
            images = sample(noise.to(pl_module.device), block)  # NaN images: their NaN logits make compute refuse
            metric.update(self.judge.logits(images), targets[start : start + len(block)])
        return metric.compute()
