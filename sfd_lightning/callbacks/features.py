"""Feature extractors for FID, all taking images in [-1, 1] and exposing ``num_features``."""
import os
from typing import Optional

import torch
from torch import nn

from sfd_lightning.checkpoints import load_exported
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.frozen import freeze


class ClassifierFeatures(nn.Module):
    """Penultimate features of an exported classifier: the FID space for datasets Inception does not fit (digits)."""

    def __init__(self, classifier_ckpt: str):
        """
        Args:
            classifier_ckpt: exported classifier asset with a ``features(images)`` method.
        """
        super().__init__()
        self.classifier = freeze(load_exported(classifier_ckpt, "feature_extractor.init_args.classifier_ckpt", "classifier"))
        self.num_features = self.classifier.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


class InceptionFeatures(nn.Module):
    """Inception-v3 pool features (2048-d) of the standard FID (torch-fidelity's port of the TF graph).

    Grayscale images are repeated to three channels. The network is built on first use, so configs
    instantiate without it; its weights come from ``weights_path`` or torch-fidelity's download.
    """

    def __init__(self, feature: int = 2048, weights_path: Optional[str] = None):
        """
        Args:
            feature: Inception layer width: 64, 192, 768 or 2048.
            weights_path: local copy of ``weights-inception-2015-12-05-6726825d.pth`` (null: download once).
        """
        super().__init__()
        if str(feature) not in ("64", "192", "768", "2048"):
            raise ConfigError("feature_extractor.init_args.feature", f"must be 64, 192, 768 or 2048, got {feature}")
        if weights_path is not None and not os.path.isfile(weights_path):
            raise ConfigError("feature_extractor.init_args.weights_path", f"file not found: {weights_path!r}")
        self.num_features, self.weights_path = feature, weights_path
        self._inception: Optional[nn.Module] = None

    def _network(self, device: torch.device) -> nn.Module:
        if self._inception is None:
            from torchmetrics.image.fid import NoTrainInceptionV3

            self._inception = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(self.num_features)],
                                                 feature_extractor_weights_path=self.weights_path)
        return self._inception.to(device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self._network(images.device)(uint8).float()
