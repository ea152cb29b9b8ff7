"""sfd-lightning: Score Forgetting Distillation (Chen, Zhang & Zhou, ICLR 2025) on PyTorch Lightning."""

from sfd_lightning.errors import ConfigError

__version__ = "0.1.0"
__all__ = ["ConfigError", "OneStepPipeline", "load_generator", "load_teacher", "__version__"]


def __getattr__(name):
    # Imported on first use: the console script should not pay for the networks' imports.
    if name == "load_teacher":
        from sfd_lightning.io.teacher import load_teacher

        return load_teacher
    if name in ("load_generator", "OneStepPipeline"):
        import sfd_lightning.pipelines.one_step as one_step

        return getattr(one_step, name)
    raise AttributeError(name)
