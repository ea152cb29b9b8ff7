"""sfd-lightning: Score Forgetting Distillation (Chen, Zhang & Zhou, ICLR 2025) on PyTorch Lightning."""
from sfd_lightning.errors import ConfigError

__version__ = "0.1.0"
__all__ = ["ConfigError", "__version__"]
