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
    "sfd_lightning.checkpoints.AtomicCheckpointIO": ("sfd_lightning.io.atomic.AtomicCheckpointIO", "drop in 0.3"),
    "sfd_lightning.callbacks.ClassifierFeatures": ("sfd_lightning.metrics.features.ClassifierFeatures", "drop in 0.3"),
    "sfd_lightning.callbacks.InceptionFeatures": ("sfd_lightning.metrics.features.InceptionFeatures", "drop in 0.3"),
    "sfd_lightning.callbacks.CLIPScore": ("sfd_lightning.metrics.clip_score.CLIPScore", "drop in 0.3"),
    "sfd_lightning.diffusion.EpsDenoiser": ("sfd_lightning.diffusion.denoiser.VPDenoiser", "drop in 0.3"),
    "sfd_lightning.diffusion.denoiser.EpsDenoiser": ("sfd_lightning.diffusion.denoiser.VPDenoiser", "drop in 0.3"),
    "sfd_lightning.metrics.nudity.NudityJudge": ("sfd_lightning.metrics.nudity.NudeNetDetector", "drop in 0.3"),
    "sfd_lightning.metrics.identity.IdentityJudge": ("sfd_lightning.metrics.identity.ReferencePerson", "drop in 0.3"),
}
