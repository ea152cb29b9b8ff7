"""A torchvision ResNet as the forget-accuracy judge: fine-tuned on CIFAR-10 / STL-10, or as is on ImageNet.

As in the SFD reference (``DDPM/train_classifier.py``): an ImageNet-pretrained ResNet-34 with a
new 10-way head, fed images resized to 224 px and normalised to [-1, 1]. With 1,000 classes the
pretrained ImageNet head is kept (``normalize: imagenet``).
"""

from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from sfd_lightning.errors import ConfigError, describe

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101")


class ResNetClassifier(nn.Module):
    """``forward(images in [-1, 1]) -> logits``; ``features(images)`` are the pooled penultimate features."""

    init_only_args = ("weights", "reference_state_dict")  # not needed to rebuild an exported classifier

    def __init__(
        self,
        arch: str = "resnet34",
        num_classes: int = 10,
        input_size: Optional[int] = 224,
        weights: Optional[str] = None,
        reference_state_dict: Optional[str] = None,
        normalize: Literal["half", "imagenet"] = "half",
    ):
        """
        Args:
            arch: torchvision ResNet: resnet18, resnet34, resnet50 or resnet101.
            num_classes: classes of the new head.
            input_size: images are resized (bilinear) to this many pixels first; null keeps their size.
            weights: torchvision weights to start from, e.g. ``IMAGENET1K_V1`` (downloaded by torchvision); null:
                random.
            reference_state_dict: a fine-tuned state dict saved by the SFD reference's
                ``train_classifier.py`` (e.g. ``cifar10_resnet34.pth``) to load instead.
            normalize: ``half`` feeds [-1, 1] images as they are (mean/std 0.5, as the reference's
                fine-tuning); ``imagenet`` applies ImageNet's mean/std (torchvision's pretrained heads).
        """
        super().__init__()
        import torchvision

        if arch not in ARCHS:
            raise ConfigError("net.arch", f"must be one of {ARCHS}, got {arch!r}")
        self.num_classes, self.input_size = num_classes, input_size
        try:
            self.body = getattr(torchvision.models, arch)(weights=weights)
        except Exception as err:  # unknown weight names, failed downloads
            raise ConfigError(
                "net.weights", f"cannot load torchvision {arch} weights {weights!r}: {describe(err)}"
            ) from None
        if normalize not in ("half", "imagenet"):
            raise ConfigError("net.normalize", f"must be half or imagenet, got {normalize!r}")
        self.num_features = self.body.fc.in_features
        if num_classes != self.body.fc.out_features:  # 1,000 classes keep torchvision's (pretrained) ImageNet head
            self.body.fc = nn.Linear(self.num_features, num_classes)
        mean, std = (
            ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)) if normalize == "imagenet" else ((0.5,) * 3, (0.5,) * 3)
        )
        # [-1, 1] -> [0, 1] -> (x - mean) / std, as one affine map per channel
        self.register_buffer("scale", torch.tensor([0.5 / s for s in std]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "shift", torch.tensor([(0.5 - m) / s for m, s in zip(mean, std)]).view(1, 3, 1, 1), persistent=False
        )
        if reference_state_dict:
            from sfd_lightning.io.checkpoint import read_checkpoint
            from sfd_lightning.io.source import Source
            from sfd_lightning.io.strict import load_state_into

            source = Source(reference_state_dict, "net.reference_state_dict")
            load_state_into(self.body, read_checkpoint(source), source, f"torchvision {arch}")
        self.head = self.body.fc

    def _resized(self, images: torch.Tensor) -> torch.Tensor:
        if self.input_size and images.shape[-1] != self.input_size:
            images = F.interpolate(
                images, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        return images * self.scale + self.shift

    def features(self, images: torch.Tensor) -> torch.Tensor:
        b = self.body
        h = b.maxpool(b.relu(b.bn1(b.conv1(self._resized(images)))))
        h = b.layer4(b.layer3(b.layer2(b.layer1(h))))
        return torch.flatten(b.avgpool(h), 1)  # (B, num_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
