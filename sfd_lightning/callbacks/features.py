"""Feature extractors for FID, all taking images in [-1, 1] and exposing ``num_features``."""
import torch
from torch import nn

from sfd_lightning.checkpoints import load_exported
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
    """Inception-v3 pool features (2048-d) as in the standard FID, via torchmetrics/torch-fidelity.

    Grayscale images are repeated to three channels; weights are downloaded by torch-fidelity on first use.
    """

    def __init__(self, feature: int = 2048):
        """
        Args:
            feature: Inception layer width: 64, 192, 768 or 2048.
        """
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.inception = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(feature)])
        self.num_features = feature

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self.inception(uint8)
