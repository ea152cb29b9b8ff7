"""Feature extractors for ``sfd eval``, all taking uint8 RGB images (B, 3, H, W).

``inception``: torch-fidelity's port of the TF Inception-v3 of the standard FID/IS/KID (pool
features and unbiased logits); ``vgg16``: torch-fidelity's VGG-16 fc2 features, the space of the
improved precision/recall (Kynkäänniemi et al., 2019); ``classifier:PATH``: an exported classifier's
features and logits (datasets Inception does not fit, and tests). Weights come from a local path
or torch-fidelity's one-time download.
"""
from typing import Dict, Optional

import torch
from torch import nn

from sfd_lightning.errors import ConfigError


class Extractor(nn.Module):
    """``forward(uint8 images) -> {"features": (B, D), "logits": (B, K) or absent}``."""


class FidelityExtractor(Extractor):
    def __init__(self, kind: str, weights_path: Optional[str]):
        super().__init__()
        if kind == "inception":
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

            self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                   feature_extractor_weights_path=weights_path)
            self.names = ("features", "logits")
        else:
            from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

            self.net = FeatureExtractorVGG16("vgg16", ["fc2_relu"], feature_extractor_weights_path=weights_path)
            self.names = ("features",)

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {name: out.double() for name, out in zip(self.names, self.net(images))}


class ClassifierExtractor(Extractor):
    def __init__(self, path: str, field: str):
        super().__init__()
        from sfd_lightning.checkpoints import load_exported

        self.classifier = load_exported(path, field, "classifier").eval()
        first_conv = next(m for m in self.classifier.modules() if isinstance(m, nn.Conv2d))
        self.grayscale = first_conv.in_channels == 1  # images arrive as RGB; gray classifiers see one channel

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        x = images.float() / 127.5 - 1
        if self.grayscale:
            x = x.mean(dim=1, keepdim=True)
        return {"features": self.classifier.features(x).double(), "logits": self.classifier(x).double()}


def make_extractor(spec: str, weights_path: Optional[str], field: str) -> Extractor:
    if spec in ("inception", "vgg16"):
        return FidelityExtractor(spec, weights_path)
    if spec.startswith("classifier:"):
        return ClassifierExtractor(spec.partition(":")[2], field)
    raise ConfigError(field, f"must be inception, vgg16 or classifier:PATH, got {spec!r}")
