"""What every metric is computed in: one set of feature extractors for the training-time FID and ``sfd eval``."""

from sfd_lightning.metrics.features import (
    ClassifierFeatures,
    FeatureExtractor,
    InceptionFeatures,
    VGG16Features,
    make_extractor,
)

__all__ = ["ClassifierFeatures", "FeatureExtractor", "InceptionFeatures", "VGG16Features", "make_extractor"]
