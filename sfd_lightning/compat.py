"""The former import paths kept working, each with the version that may drop it.

``SHIMS``: old dotted path -> (where it lives now, when the old path may go). A stored class path (checkpoints and
configs name ``sfd_lightning.x.y.Class``) or a documented import is kept as a one-line re-export at its old path.
"""

SHIMS = {
    "sfd_lightning.export.pipeline.OneStepPipeline": (
        "sfd_lightning.pipelines.one_step.OneStepPipeline",
        "drop in 0.3",
    ),
    "sfd_lightning.export.pipeline.load_generator": ("sfd_lightning.pipelines.one_step.load_generator", "drop in 0.3"),
}
