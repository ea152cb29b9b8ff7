"""The feature extractors of every metric: the training-time FID (``FIDCallback``) and ``sfd eval``'s FID,
IS, KID and precision/recall.

Each maps images in [-1, 1] (B, C, H, W) to ``{"features": (B, D)}`` plus ``"logits"`` where it has
them (``extract``); ``forward`` gives the features alone, as torchmetrics' FID calls it, and
``num_features`` their width. ``inception``: torch-fidelity's port of the TF Inception-v3 of the
standard FID/IS/KID (pool features, unbiased logits); ``vgg16``: torch-fidelity's VGG-16 fc2
features, the space of improved precision/recall (Kynkäänniemi et al., 2019); ``classifier``: an
exported classifier's penultimate features and logits, for datasets Inception does not fit (digits).
Inception and VGG weights come from a local path or torch-fidelity's one-time download, on first use.
"""

import os
from typing import Dict, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.asset import load_exported
from sfd_lightning.io.source import Source


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] to the uint8 RGB torch-fidelity's networks take (grayscale repeated)."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class FeatureExtractor(nn.Module):
    """``extract(images in [-1, 1]) -> {"features", "logits"?}``; ``forward`` -> the features."""

    num_features: int

    def extract(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.extract(images)["features"]


def input_channels(classifier: nn.Module) -> int:
    """The image channels a classifier reads: its ``in_channels`` (the project's classifiers, the MLP judge too),
    else its first convolution's; 3 for a network that says neither."""
    channels = getattr(classifier, "in_channels", None)
    if isinstance(channels, int):
        return channels
    first_conv = next((m for m in classifier.modules() if isinstance(m, nn.Conv2d)), None)
    return first_conv.in_channels if first_conv is not None else 3


class ClassifierFeatures(FeatureExtractor):
    """Penultimate features and logits of an exported classifier: the FID space of the digits default."""

    def __init__(self, classifier_ckpt: str, field: str = "feature_extractor.init_args.classifier_ckpt"):
        """
        Args:
            classifier_ckpt: exported classifier asset with a ``features(images)`` method.
            field: the option that named it, for error messages.
        """
        super().__init__()
        self.classifier = load_exported(Source(classifier_ckpt, field), "classifier").eval().requires_grad_(False)
        self.num_features = self.classifier.num_features
        self.grayscale = input_channels(self.classifier) == 1

    def extract(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        x = images.float()
        if self.grayscale and x.shape[1] == 3:  # RGB files of gray images: the classifier sees one channel
            x = x.mean(dim=1, keepdim=True)
        return {"features": self.classifier.features(x), "logits": self.classifier(x)}


class _FidelityFeatures(FeatureExtractor):
    """A torch-fidelity network, built on first use so that configs instantiate without it."""

    def __init__(self, weights_path: Optional[str], field: str):
        super().__init__()
        if weights_path is not None and not os.path.isfile(weights_path):
            raise ConfigError(field, f"file not found: {weights_path!r}")
        self.weights_path = weights_path
        self._net: Optional[nn.Module] = None

    def _build(self) -> nn.Module:
        raise NotImplementedError

    def _outputs(self, images: torch.Tensor):
        if self._net is None:
            self._net = self._build().eval()
        return self._net.to(images.device)(to_uint8_rgb(images))


class InceptionFeatures(_FidelityFeatures):
    """Inception-v3 pool features (2048-d by default) of the standard FID, and its unbiased logits (for IS)."""

    def __init__(self, feature: int = 2048, weights_path: Optional[str] = None, logits: bool = False):
        """
        Args:
            feature: Inception layer width: 64, 192, 768 or 2048.
            weights_path: local copy of ``weights-inception-2015-12-05-6726825d.pth`` (null: download once).
            logits: also give the unbiased logits (the Inception Score's input).
        """
        super().__init__(weights_path, "feature_extractor.init_args.weights_path")
        if str(feature) not in ("64", "192", "768", "2048"):
            raise ConfigError("feature_extractor.init_args.feature", f"must be 64, 192, 768 or 2048, got {feature}")
        self.num_features, self.logits = int(feature), logits

    def _build(self) -> nn.Module:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        names = [str(self.num_features)] + (["logits_unbiased"] if self.logits else [])
        return FeatureExtractorInceptionV3(
            "inception-v3-compat", names, feature_extractor_weights_path=self.weights_path
        )

    def extract(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        out = self._outputs(images)
        return dict(zip(("features", "logits"), (o.float() for o in out)))


class VGG16Features(_FidelityFeatures):
    """VGG-16 fc2 features (4096-d): the space of improved precision and recall."""

    num_features = 4096

    def __init__(self, weights_path: Optional[str] = None):
        """
        Args:
            weights_path: local VGG-16 weights (null: download once).
        """
        super().__init__(weights_path, "--vgg16-weights")

    def _build(self) -> nn.Module:
        from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

        return FeatureExtractorVGG16("vgg16", ["fc2_relu"], feature_extractor_weights_path=self.weights_path)

    def extract(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"features": self._outputs(images)[0].float()}


def make_extractor(spec: str, weights_path: Optional[str], field: str) -> FeatureExtractor:
    """``inception``, ``vgg16`` or ``classifier:PATH`` (``sfd eval``'s --features and --prc-features)."""
    if spec == "inception":
        return InceptionFeatures(weights_path=weights_path, logits=True)
    if spec == "vgg16":
        return VGG16Features(weights_path)
    if spec.startswith("classifier:"):
        return ClassifierFeatures(spec.partition(":")[2], field)
    raise ConfigError(field, f"must be inception, vgg16 or classifier:PATH, got {spec!r}")
