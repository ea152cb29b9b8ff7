"""Person erasure judged by face identity (``judges.identity``): does the generator still draw the forgotten
person for the forget prompts, and still draw the retained people for theirs (the collateral damage MACE and UCE
report)?"""

from typing import Dict, List, Optional

from lightning.pytorch import LightningModule, Trainer

from sfd_lightning.callbacks.periodic import PeriodicEvalCallback
from sfd_lightning.data.prompt_files import Prompts, prompts_from
from sfd_lightning.judges.identity import IdentityJudge
from sfd_lightning.metrics.identity import SAME_PERSON, prompts_naming
from sfd_lightning.metrics.sampling import prompt_samples

FIELD = "trainer.callbacks.IdentityCallback"


class IdentityCallback(PeriodicEvalCallback):
    """``identity/forget_matched``: share of forget-prompt samples showing the forgotten person (lower is better);
    ``identity/forget_faces_found``: share with a face at all; with retained people, ``identity/retained_matched``
    (higher is better) and ``identity/retained_faces_found``, their mean over the people, and each person's as
    ``identity/retained_matched/<name>``."""

    def __init__(
        self,
        reference_folder: str,
        retained_people: Optional[Dict[str, str]] = None,
        retained_prompts: Optional[Prompts] = None,
        threshold: float = SAME_PERSON,
        detector: str = "hog",
        upsample: int = 1,
        n_per_prompt: int = 4,
        every_n_iterations: int = 0,
        batch_size: int = 16,
        seed: int = 777,
    ):
        """
        Args:
            reference_folder: photos (png/jpg) of the person to forget, one face each.
            retained_people: name -> folder of photos of a person to keep; a person's samples are those of the
                retained prompts that contain the name (case-insensitive).
            retained_prompts: those prompts (a file, one per line, or a list); null: the DataModule's validation
                retained prompts.
            threshold: a face within this descriptor distance of the nearest reference photo shows the person
                (dlib: 0.6).
            detector: "hog" (dlib's frontal face detector) or "cnn" (MMOD; slow on CPU).
            upsample: image doublings before detection (faces under ~80 pixels across need 1 or more).
            n_per_prompt: samples per prompt (split across ranks).
            every_n_iterations: evaluate every this many SFD iterations (0: only at the end).
            batch_size: samples per generator call.
            seed: noise seed, fixed so evaluations are comparable.
        """
        super().__init__(every_n_iterations)
        judge = dict(threshold=threshold, detector=detector, upsample=upsample)
        self.forget_judge = IdentityJudge(reference_folder, f"{FIELD}.reference_folder", **judge)
        self.retained_judges = {
            name: IdentityJudge(folder, f"{FIELD}.retained_people.{name}", **judge)
            for name, folder in (retained_people or {}).items()
        }
        self.retained_prompts = (
            None if retained_prompts is None else prompts_from(retained_prompts, f"{FIELD}.retained_prompts")
        )
        self.n_per_prompt, self.batch_size, self.seed = n_per_prompt, batch_size, seed

    def _judged(
        self, trainer: Trainer, pl_module: LightningModule, judge: IdentityJudge, prompts: List[str], seed: int
    ) -> Dict[str, float]:
        counts = judge.counts(FIELD).to(pl_module.device)
        for _, images in prompt_samples(trainer, pl_module, prompts, self.n_per_prompt, self.batch_size, seed):
            counts.update(images)
        return counts.compute()  # summed over ranks

    def _person_prompts(self, name: str, pool: List[str]) -> List[str]:
        return prompts_naming(name, pool, f"{FIELD}.retained_people", "retained prompts")

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Before any training: a retained person no retained prompt names is a config error."""
        super().setup(trainer, pl_module, stage)
        pool = self.retained_prompts or self.prompt_data(trainer).validation_prompts["retained"]
        for name in self.retained_judges:
            self._person_prompts(name, pool)

    def evaluate(self, trainer: Trainer, pl_module: LightningModule, final: bool) -> Dict[str, float]:
        data = self.prompt_data(trainer)
        forget = self._judged(trainer, pl_module, self.forget_judge, data.validation_prompts["forget"], self.seed)
        out = {f"identity/forget_{k}": v for k, v in forget.items()}
        pool = self.retained_prompts or data.validation_prompts["retained"]
        people = {
            name: self._judged(trainer, pl_module, judge, self._person_prompts(name, pool), self.seed + 1 + i)
            for i, (name, judge) in enumerate(self.retained_judges.items())
        }  # noise of their own
        for key in ("matched", "faces_found"):
            if people:
                out[f"identity/retained_{key}"] = sum(p[key] for p in people.values()) / len(people)
            out.update({f"identity/retained_{key}/{name}": p[key] for name, p in people.items()})
        return out
