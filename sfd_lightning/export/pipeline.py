"""Former home of ``load_generator`` / ``OneStepPipeline`` (now ``sfd_lightning.pipelines.one_step``); kept for
imports written before the move (listed in ``sfd_lightning.compat``)."""

from sfd_lightning.pipelines.one_step import OneStepPipeline, load_generator, resolve_source  # noqa: F401
