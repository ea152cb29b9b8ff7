"""Judges: models that answer, for a batch of images in [-1, 1], the class or whether the forgotten concept is
present (``protocol``), one module each, all looked up by name in ``registry``."""
