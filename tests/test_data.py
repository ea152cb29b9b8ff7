"""DataModules: noise batches are reproducible, never carry the forget label; digits splits are disjoint."""
from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.data import DigitsDataset, NoiseLabelDataModule, NoiseLabelDataset
from sfd_lightning.errors import ConfigError


def test_noise_items_are_reproducible_and_distinct():
    ds = NoiseLabelDataset((1, 4, 4), [1, 2], length=10, seed=3)
    torch.testing.assert_close(ds[4]["z"], ds[4]["z"])
    assert not torch.equal(ds[4]["z"], ds[5]["z"])
    assert {int(ds[i]["labels"]) for i in range(10)} <= {1, 2}


def test_retained_labels_follow_the_model():
    dm = NoiseLabelDataModule(shape=(1, 4, 4), batch_size=8, iterations=5)
    dm.trainer = SimpleNamespace(lightning_module=SimpleNamespace(num_classes=4, forget_label=2), world_size=2)
    dm.setup("fit")
    labels = torch.cat([b["labels"] for b in dm.train_dataloader()])
    assert set(labels.tolist()) == {0, 1, 3}
    assert len(dm.train_set) == 5 * 8 * 2  # every rank gets `iterations` batches
    dm.retained_labels = [0, 2]  # the forget label, while the model forgets
    with pytest.raises(ConfigError, match="data.retained_labels"):
        dm.setup("fit")


def test_digits_splits():
    train, val = DigitsDataset("train"), DigitsDataset("val")
    assert len(train) + len(val) == 1797
    assert train.images.shape[1:] == (1, 8, 8) and train.images.min() >= -1 and train.images.max() <= 1
    assert set(DigitsDataset("all", labels=[3, 4]).labels.tolist()) == {3, 4}
    with pytest.raises(ConfigError, match="labels"):
        DigitsDataset("all", labels=[10])
