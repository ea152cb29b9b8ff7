"""What a run forgets: several classes or prompt concepts at once (``forget_set``), and what a released generator
has already forgotten, request after request (``lineage``)."""

from sfd_lightning.forgetting.forget_set import Concept, ForgetClass, forget_classes

__all__ = ["Concept", "ForgetClass", "forget_classes"]
