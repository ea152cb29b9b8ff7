"""Captioned digits for the embedded text-to-image default: "a handwritten seven" and other phrasings.

Each training image gets a caption drawn at random from several templates, so the teacher learns
the digit's word rather than one fixed sentence.
"""

import random
from typing import List, Optional, Sequence

from lightning.pytorch import LightningDataModule
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from sfd_lightning.data.digits import DigitsDataset
from sfd_lightning.errors import ConfigError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = (
    "a handwritten {}",
    "the digit {}",
    "a drawing of the number {}",
    "{}",
    "an image of a {}",
    "a {} written by hand",
    "the number {} in black and white",
    "a small picture of {}",
)


def captions(word: str, templates: Sequence[str] = TEMPLATES) -> List[str]:
    return [t.format(word) for t in templates]


def vocabulary(templates: Sequence[str] = TEMPLATES) -> List[str]:
    """Every word of every caption (the text encoder's vocabulary)."""
    words = {w for t in templates for w in t.replace("{}", " ").split()} | set(DIGIT_WORDS)
    return sorted(words)


class CaptionedDigits(Dataset):
    """(image, caption) pairs; the caption template is drawn at random on each access."""

    def __init__(self, split: str, templates: Sequence[str], val_every: int = 10, seed: Optional[int] = None):
        self.images = DigitsDataset(split, val_every=val_every)
        self.templates, self.rng = list(templates), random.Random(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        image, label = self.images[i]
        return image, self.rng.choice(self.templates).format(DIGIT_WORDS[int(label)])


class DigitCaptionsDataModule(LightningDataModule):
    """Batches of (images (B, 1, 8, 8) in [-1, 1], B captions) for the text-conditional digits teacher."""

    def __init__(
        self, batch_size: int = 128, epoch_repeats: int = 1, templates: Sequence[str] = TEMPLATES, num_workers: int = 0
    ):
        """
        Args:
            batch_size: images per batch.
            epoch_repeats: passes over the training images that make one epoch.
            templates: caption templates with ``{}`` for the digit's word.
            num_workers: DataLoader worker processes.
        """
        super().__init__()
        bad = [t for t in templates if "{}" not in t]
        if bad or not templates:
            raise ConfigError(
                "data.templates", f"every template needs a {{}} for the digit's word; got {bad or 'none'}"
            )
        self.batch_size, self.epoch_repeats, self.templates, self.num_workers = (
            batch_size,
            epoch_repeats,
            list(templates),
            num_workers,
        )

    def setup(self, stage: Optional[str] = None) -> None:
        self.train_set = CaptionedDigits("train", self.templates)
        self.val_set = CaptionedDigits("val", self.templates[:1], seed=0)

    def train_dataloader(self) -> DataLoader:
        repeated = ConcatDataset([self.train_set] * self.epoch_repeats)
        return DataLoader(
            repeated, batch_size=self.batch_size, shuffle=True, drop_last=True, num_workers=self.num_workers
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=512, num_workers=self.num_workers)


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m sfd_lightning.data.digit_captions OUT``: write every caption of every digit, one per line."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m sfd_lightning.data.digit_captions", description=main.__doc__)
    p.add_argument("out", help="prompt file to write, e.g. configs/prompts/digits_captions.txt")
    args = p.parse_args(argv)
    with open(args.out, "w") as f:
        f.write("\n".join(c for word in DIGIT_WORDS for c in captions(word)) + "\n")


if __name__ == "__main__":
    main()
