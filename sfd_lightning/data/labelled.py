"""A torch dataset of (image, label) pairs with every label listed, optionally cut to some classes."""

from typing import Optional, Sequence

import torch
from torch.utils.data import Dataset, Subset


class LabelledImages(Dataset):
    """Wraps ``dataset`` whose item labels are ``targets``; ``labels`` (a tensor) lists them, for FID references."""

    def __init__(self, dataset: Dataset, targets: Sequence[int], keep: Optional[Sequence[int]] = None):
        if keep is not None:
            index = [i for i, y in enumerate(targets) if y in set(keep)]
            dataset, targets = Subset(dataset, index), [targets[i] for i in index]
        self.dataset, self.labels = dataset, torch.tensor(list(targets))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        return self.dataset[i]
