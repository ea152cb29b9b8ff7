"""Pure noise + label batches: SFD is data-free and never touches a real image.

The batch for an iteration is a function of (data.seed, SFD iteration, global rank). The loader
only paces the epoch; ``on_before_batch_transfer`` draws the batch. So a run resumed from a
checkpoint draws exactly the noise the uninterrupted run would have, every rank draws its own
noise, and no loader position needs saving.

A batch holds one entry per update of the iteration (``fake_score``, ``generator``), each with its
own noise for the retained rows and, while forgetting, the forget rows: the reference draws fresh
noise for every generator call. Both updates share the iteration's labels, as the reference's DDPM
loop does.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.trainer.states import TrainerFn
from torch.utils.data import DataLoader, Dataset

from sfd_lightning.data.class_names import resolve_label
from sfd_lightning.data.sample_blocks import Conditions, SampleBlocks, block_loader
from sfd_lightning.data.seeding import generator
from sfd_lightning.errors import ConfigError

UPDATES = ("fake_score", "generator")  # an SFD iteration's updates, in order; each has its own batch


def noise_batch(
    shape: Sequence[int],
    labels: Sequence[int],
    batch_size: int,
    seed: int,
    iteration: int,
    rank: int = 0,
    forgets: bool = True,
    forgotten: Sequence[int] = (),
) -> Dict[str, Dict[str, torch.Tensor]]:
    """Per update ``{"z": (N, *shape) N(0, I), "labels": (B,) uniform over labels}`` with N = 2B while
    forgetting (retained rows, then forget rows), else B; reproducible from (seed, iteration, rank). With several
    ``forgotten`` classes, also ``"forget_labels"`` (B,): the forget rows' classes, round the list from a random
    start, so each class gets B/K rows (counts differ by at most one), the same in both updates."""
    g = generator(seed, iteration, rank)
    pool = torch.as_tensor(list(labels))
    y = pool[torch.randint(len(pool), (batch_size,), generator=g)]
    n = 2 * batch_size if forgets else batch_size
    batch = {update: {"z": torch.randn((n, *shape), generator=g), "labels": y} for update in UPDATES}
    if forgets and len(forgotten) > 1:  # drawn last: the noise and labels are those of a single-class run
        rows = balanced_rows(forgotten, batch_size, g)
        for update in UPDATES:
            batch[update]["forget_labels"] = rows
    return batch


def balanced_rows(forgotten: Sequence[int], n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` rows going round ``forgotten`` from a start drawn with ``g``: every class ``n // K`` or ``n // K + 1``."""
    start = int(torch.randint(len(forgotten), (), generator=g))
    return torch.as_tensor(list(forgotten))[(start + torch.arange(n)) % len(forgotten)]


def forgotten_labels(value: Union[int, str, Sequence[Union[int, str]], None], num_classes: Optional[int]) -> List[int]:
    """The linked ``forget_label`` (one class or a list) as a list of class indices."""
    values = [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
    return [resolve_label(v, num_classes, "data.forget_label") for v in values]


class _Steps(Dataset):
    """Item i is i: the loader only counts iterations."""

    def __init__(self, length: int):
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> int:
        return i


class NoiseLoader(DataLoader):
    """A DataLoader with nothing to resume: its batches are drawn from the iteration, not its position."""

    def state_dict(self) -> Dict[str, int]:
        return {}

    def load_state_dict(self, state: Dict[str, int]) -> None:
        pass


class NoiseLabelDataModule(LightningDataModule):
    """Batches of noise and retained labels; one epoch is ``iterations`` SFD iterations.

    ``num_classes``, ``forget_label`` and ``forgets`` are the model's: ``sfd`` links them from
    ``model.init_args`` (num_classes, forget_label, loss_weights); give them when building both in Python.
    """

    def __init__(
        self,
        shape: Sequence[int] = (1, 8, 8),
        batch_size: int = 64,
        iterations: int = 1000,
        retained_labels: Optional[Sequence[int]] = None,
        seed: int = 0,
        predict_n_per_label: int = 16,
        num_classes: Optional[int] = None,
        forget_label: Union[int, str, List[Union[int, str]], None] = None,
        forgets: bool = True,
    ):
        """
        Args:
            shape: shape of one noise sample (C, H, W), the generator's output shape.
            batch_size: retained samples per iteration per device (SFD adds as many forget-label samples).
            iterations: SFD iterations per epoch.
            retained_labels: labels to distil; default every class except the forgotten ones.
            seed: seed of the noise; the batch of iteration i on rank r depends only on (seed, i, r).
            predict_n_per_label: ``sfd predict``: samples of every class (the forgotten one too), drawn with ``seed``.
            num_classes: the model's number of classes (linked from ``model.init_args.num_classes``).
            forget_label: the model's forget label or labels (linked from ``model.init_args.forget_label``); while
                training, the model's own forgotten classes win (a sequential step's include its release's).
            forgets: whether the model forgets (its forget weights not both 0): noise for the forget rows too.
        """
        super().__init__()
        for name, value in (
            ("batch_size", batch_size),
            ("iterations", iterations),
            ("predict_n_per_label", predict_n_per_label),
        ):
            if value < 1:
                raise ConfigError(f"data.{name}", f"must be >= 1, got {value}")
        self.shape, self.batch_size, self.iterations = tuple(shape), batch_size, iterations
        self.retained_labels, self.seed, self.predict_n_per_label = retained_labels, seed, predict_n_per_label
        self.num_classes, self.forgets = num_classes, forgets
        self.forgotten: Tuple[int, ...] = tuple(forgotten_labels(forget_label, num_classes))
        self.forget_label = self.forgotten[0] if self.forgotten else None
        self.labels: Sequence[int] = ()

    def resolve_labels(self) -> Sequence[int]:
        num_classes, forgotten = self.num_classes, self.forgotten
        if self.retained_labels is not None:
            both = [c for c in forgotten if c in self.retained_labels]
            if both and self.forgets:
                raise ConfigError(
                    "data.retained_labels", f"must not contain the forget label {both[0]} while forgetting"
                )
            if num_classes is not None and any(not 0 <= c < num_classes for c in self.retained_labels):
                raise ConfigError("data.retained_labels", f"labels must be in [0, {num_classes - 1}]")
            return list(self.retained_labels)
        if num_classes is None:
            raise ConfigError(
                "data.num_classes",
                "give it and data.forget_label (sfd links them from the model), or data.retained_labels",
            )
        return [c for c in range(num_classes) if c not in forgotten]

    def setup(self, stage: Optional[str] = None) -> None:
        module = self.trainer.lightning_module if self.trainer is not None else None
        classes = getattr(module, "forget_classes", ())  # the model's: a sequential step's include its release's
        if classes:
            self.forgotten = tuple(c.label for c in classes)
        self.labels = self.resolve_labels()

    def train_dataloader(self) -> DataLoader:
        world = self.trainer.world_size if self.trainer is not None else 1
        # Lightning's distributed sampler hands each rank `iterations` of these placeholders.
        return NoiseLoader(_Steps(self.iterations * world), batch_size=1, shuffle=False)

    def val_dataloader(self):
        """``sfd validate``: one placeholder batch, after which the metric callbacks evaluate the loaded
        checkpoint; none while fitting (the callbacks evaluate during training there)."""
        if self.trainer is not None and self.trainer.state.fn == TrainerFn.FITTING:
            return []
        return NoiseLoader(_Steps(1), batch_size=1, shuffle=False)

    def predict_conditions(self) -> Conditions:
        """What ``sfd predict`` samples: every class, ``predict_n_per_label`` each."""
        if self.num_classes is None:
            raise ConfigError(
                "data.num_classes", "sfd predict needs the number of classes (linked from model.num_classes)"
            )
        return torch.arange(self.num_classes).repeat_interleave(self.predict_n_per_label)

    def predict_dataloader(self) -> DataLoader:
        """``sfd predict``: blocks of ``batch_size`` conditions with the noise of (seed, block), as ``sfd sample``."""
        return block_loader(SampleBlocks(self.predict_conditions(), self.shape, self.batch_size, self.seed))

    def batch_for(self, iteration: int, rank: int = 0) -> Dict[str, Dict[str, torch.Tensor]]:
        """The batch that rank ``rank`` trains on at SFD iteration ``iteration``."""
        return noise_batch(
            self.shape, self.labels, self.batch_size, self.seed, iteration, rank, self.forgets, self.forgotten
        )

    def on_before_batch_transfer(self, batch, dataloader_idx: int) -> Dict[str, Dict[str, torch.Tensor]]:
        trainer = self.trainer
        if trainer is None or not trainer.training:
            return batch
        # The model is an UnlearningModule (SFD or a baseline: what trains on noise), whose iteration seeds the batch.
        return self.batch_for(trainer.lightning_module.iteration, trainer.global_rank)
