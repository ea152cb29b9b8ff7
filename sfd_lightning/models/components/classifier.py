"""A small convolutional image classifier with an exposed feature layer.

Its penultimate features serve as the FID feature space on datasets too small for Inception
(the digits default), and its logits judge forget-class accuracy.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ConvClassifier(nn.Module):
    """Conv-GroupNorm-SiLU stacks, global average pooling, a feature layer and a linear head."""

    def __init__(
        self, in_channels: int = 1, num_classes: int = 10, width: int = 32, num_features: int = 64, dropout: float = 0.1
    ):
        """
        Args:
            in_channels: image channels.
            num_classes: number of output classes.
            width: channels of the first convolution; doubled once after downsampling.
            num_features: size of the feature layer (the FID feature dimension).
            dropout: dropout before the linear head.
        """
        super().__init__()
        self.num_classes, self.num_features = num_classes, num_features

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.GroupNorm(8, cout), nn.SiLU())

        self.body = nn.Sequential(
            block(in_channels, width, 1),
            block(width, width, 1),
            block(width, 2 * width, 2),
            block(2 * width, 2 * width, 1),
        )
        self.feature_layer = nn.Linear(2 * width, num_features)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_features, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(B, num_features)`` of images in [-1, 1]."""
        h = self.body(x).mean(dim=(2, 3))  # (B, 2*width)
        return F.silu(self.feature_layer(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))
