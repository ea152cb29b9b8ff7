"""A multilayer perceptron image classifier: the digits default's independent judge.

It shares nothing with :class:`ConvClassifier` but the data: no convolutions, no weight sharing
across pixels, another seed. ``sfd attack`` optimises against the convolutional classifier (its
surrogate) and also asks this one, which the attack never saw, whether the forgotten class came back.
"""

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class MLPClassifier(nn.Module):
    """Flattened pixels through fully connected SiLU layers; the last hidden layer is the feature layer."""

    def __init__(
        self,
        in_channels: int = 1,
        resolution: int = 8,
        num_classes: int = 10,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.2,
    ):
        """
        Args:
            in_channels: image channels.
            resolution: image height and width in pixels.
            num_classes: number of output classes.
            hidden: widths of the hidden layers; the last is the feature layer.
            dropout: dropout after each hidden layer.
        """
        super().__init__()
        self.num_classes, self.num_features = num_classes, hidden[-1]
        self.in_channels = in_channels
        widths = [in_channels * resolution * resolution, *hidden]
        self.body = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden[-1], num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer ``(B, num_features)`` of images in [-1, 1]."""
        h = x.flatten(1)
        for i, layer in enumerate(self.body):
            h = F.silu(layer(h if i == 0 else self.dropout(h)))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))
