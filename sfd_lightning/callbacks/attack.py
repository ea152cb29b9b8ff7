"""``AttackCallback``: ``sfd attack`` at the end of ``sfd fit``, on the run's own EMA generator and teacher.

Writes ``attack.json``, ``attack.md`` and ``attack.png`` to ``<run folder>/attack/`` (as ``sfd attack`` does) and
logs the numbers (``attack/<attack>/<budget>/<target>/<judge>``) to the run's logger (W&B). Rank 0 attacks; under DDP
the other ranks wait.
"""

import os
from typing import Optional, Sequence

from lightning.pytorch import Callback, LightningModule, Trainer

from sfd_lightning.attack.context import AttackContext
from sfd_lightning.attack.forget_spec import ForgetSpec, class_spec, prompt_spec
from sfd_lightning.attack.harness import run_attacks
from sfd_lightning.attack.inputs import DIGIT_WORDS, attack_examples, attack_target, reference_of
from sfd_lightning.attack.registry import PROMPT_ONLY, AttackSettings
from sfd_lightning.attack.report import flat, write
from sfd_lightning.data.prompt_files import read_prompt_file
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.run_dir import run_dir
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.models.sfd_module import SFDModule
from sfd_lightning.models.unlearning_module import require_module
from sfd_lightning.pipelines.live import from_module, module_teacher


class AttackCallback(Callback):
    """Attack the forgetting after training: noise, embedding and (prompt runs) paraphrase attacks, and on request
    relearning and benign fine-tuning, on the one-step generator and the teacher's few-step DDIM sampler, judged by a
    surrogate and an independent judge."""

    def __init__(
        self,
        surrogate_ckpt: str = "assets/digits_classifier.pt",
        judge_ckpt: str = "assets/digits_judge.pt",
        settings: Optional[AttackSettings] = None,
        teacher_steps: int = 10,
        examples: str = "teacher",
        reference: Optional[str] = None,
        paraphrases: Optional[str] = None,
        class_words: Sequence[str] = DIGIT_WORDS,
    ):
        """
        Args:
            surrogate_ckpt: classifier asset the attacks optimise against.
            judge_ckpt: independent classifier asset that also scores them (never in a gradient).
            settings: the attacks (``attacks``: noise, embedding, paraphrase by default, relearn and benign on request;
                paraphrase is skipped in class runs), budgets and sizes (``n``, ``eps``, ``pgd_steps``, ``restarts``,
                ``embedding_steps``, ``relearn_steps``, ``relearn_lr`` (a list: a grid), ``relearn_weights`` (full,
                lora), ``lora_rank``, ...): ``AttackSettings``.
            teacher_steps: DDIM steps of the attacked teacher sampler.
            examples: the embedding and relearning attacks' examples: ``teacher`` (its samples) or a labelled image set
                (``digits``).
            reference: labelled real images for the pinpoint FIDs (``digits``, ``cifar10:ROOT``), or none.
            paraphrases: prompt runs: a file of held-out wordings of the concept.
            class_words: prompt runs: the judges' class words.
        """
        self.surrogate_ckpt, self.judge_ckpt = surrogate_ckpt, judge_ckpt
        self.settings = settings or AttackSettings()
        self.settings.check()
        self.teacher_steps, self.examples, self.reference = teacher_steps, examples, reference
        self.paraphrases = (
            read_prompt_file(paraphrases, "trainer.callbacks.AttackCallback.paraphrases") if paraphrases else []
        )
        self.class_words = list(class_words)
        self.result = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Before training: the attacks need SFD's one-step generator (a baseline's model: ``sfd attack --ckpt``)."""
        require_module(pl_module, SFDModule, type(self).__name__)
        forgotten = [c.label for c in pl_module.forget_classes]
        if len(forgotten) > 1:
            raise ConfigError(
                f"trainer.callbacks.{type(self).__name__}",
                f"attacks one forgotten class; this run forgets {', '.join(map(str, forgotten))}: attack its export "
                "class by class (sfd attack --forget-label C)",
            )

    def spec(self, trainer: Trainer, pl_module: SFDModule) -> ForgetSpec:
        if not pl_module.prompt_conditioned:
            return class_spec(pl_module.num_classes, pl_module.forget_label)
        dm = trainer.datamodule
        return prompt_spec(
            list(dm.forget_prompts) + list(dm.retained_prompts), dm.concept, self.class_words, self.paraphrases
        )

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.global_rank == 0:
            self.attack(trainer, pl_module)
        trainer.strategy.barrier("attack")

    def attack(self, trainer: Trainer, pl_module: LightningModule) -> None:
        spec, device = self.spec(trainer, pl_module), pl_module.device
        attacks = tuple(a for a in self.settings.attacks if a not in PROMPT_ONLY or spec.context is not None)
        settings = AttackSettings(**{**vars(self.settings), "attacks": attacks})
        sfd = attack_target(from_module(pl_module))
        teacher = module_teacher(pl_module, self.teacher_steps)
        judges = {
            role: ClassifierJudge.load(
                path, f"trainer.callbacks.AttackCallback.{role}_ckpt", device, f"attack judge {role}"
            )
            for role, path in (("surrogate", self.surrogate_ckpt), ("judge", self.judge_ckpt))
        }
        examples, retained = attack_examples(self.examples, spec, teacher, settings, device)
        reference, features = reference_of(self.reference, self.surrogate_ckpt) if settings.pinpoint_k else (None, None)
        ctx = AttackContext(
            spec, Surrogate(judges["surrogate"]), judges, settings, device, examples, reference, features, retained
        )
        self.result = run_attacks([teacher, sfd], ctx)
        paths = write(self.result, os.path.join(run_dir(trainer), "attack"))
        print(open(paths["md"]).read(), flush=True)
        if trainer.logger is not None:
            trainer.logger.log_metrics(flat(self.result), step=pl_module.iteration)
