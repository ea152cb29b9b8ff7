"""DataModules: noise batches are reproducible, never carry the forget label; digits splits are disjoint."""

from types import SimpleNamespace

import pytest
import torch

from sfd_lightning.data import DigitsDataModule, DigitsDataset, NoiseLabelDataModule, noise_batch
from sfd_lightning.errors import ConfigError


def test_noise_batches_depend_on_seed_iteration_and_rank_only():
    a = noise_batch((1, 4, 4), [1, 2], 16, seed=3, iteration=7, rank=0)
    torch.testing.assert_close(a, noise_batch((1, 4, 4), [1, 2], 16, seed=3, iteration=7, rank=0))
    for other in (
        dict(seed=4, iteration=7, rank=0),
        dict(seed=3, iteration=8, rank=0),
        dict(seed=3, iteration=7, rank=1),
    ):
        assert not torch.equal(a["generator"]["z"], noise_batch((1, 4, 4), [1, 2], 16, **other)["generator"]["z"]), (
            other
        )
    fake, gen = a["fake_score"], a["generator"]
    assert fake["z"].shape == gen["z"].shape == (32, 1, 4, 4) and set(fake["labels"].tolist()) == {1, 2}


def test_each_update_has_fresh_noise_and_both_share_the_labels():
    """As the reference's DDPM loop: new noise for every generator call (retained, forget; each update), one label
    draw."""
    a = noise_batch((1, 4, 4), [1, 2, 3], 8, seed=0, iteration=0)
    fake, gen = a["fake_score"], a["generator"]
    assert torch.equal(fake["labels"], gen["labels"])
    rows = torch.cat([fake["z"], gen["z"]]).flatten(1)  # retained, forget, retained, forget
    assert len({tuple(r.tolist()) for r in rows}) == 32
    distil_only = noise_batch((1, 4, 4), [1, 2, 3], 8, seed=0, iteration=0, forgets=False)
    assert distil_only["generator"]["z"].shape == (8, 1, 4, 4)


def test_retained_labels_are_the_models_classes_but_the_forget_label():
    dm = NoiseLabelDataModule(shape=(1, 4, 4), batch_size=8, iterations=5, num_classes=4, forget_label=2)
    model = SimpleNamespace(iteration=3)
    dm.trainer = SimpleNamespace(lightning_module=model, world_size=2, training=True, global_rank=1)
    dm.setup("fit")
    assert len(dm.train_dataloader().dataset) == 5 * 2  # Lightning's sampler gives each rank `iterations` batches
    batch = dm.on_before_batch_transfer(torch.tensor([0]), 0)
    torch.testing.assert_close(batch, dm.batch_for(3, rank=1))
    labels = torch.cat([dm.batch_for(i)["generator"]["labels"] for i in range(5)])
    assert set(labels.tolist()) == {0, 1, 3}
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


def test_digits_without_a_class_for_retraining():
    """Retraining without the forgotten class: data.labels keeps the others, in training and validation."""
    dm = DigitsDataModule(batch_size=32, labels=list(range(1, 10)))
    dm.setup("fit")
    seen = {int(y) for _, labels in dm.train_dataloader() for y in labels} | {int(y) for _, y in dm.val_set}
    assert seen == set(range(1, 10)) and dm.shape == (1, 8, 8)
    with pytest.raises(ConfigError, match="digits classes are 0..9"):
        DigitsDataModule(labels=[10])
