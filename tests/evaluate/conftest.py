"""The evaluation tests' shared inputs."""

import numpy as np
import pytest

from sfd_lightning.data import DigitsDataset


@pytest.fixture
def real_npz(tmp_path):
    """Every shipped digit with its label, as ``sfd eval`` reads samples (an .npz of images and labels)."""
    data = DigitsDataset("all")
    path = tmp_path / "real.npz"
    np.savez(path, images=data.images.numpy(), labels=data.labels.numpy())
    return path
