"""SFDModule on tiny networks, as the module tests build and train it."""

import torch
from lightning.pytorch import Trainer

from sfd_lightning.data import NoiseLabelDataModule
from sfd_lightning.models import SFDModule
from sfd_lightning.models.sfd_settings import LossWeights, Timesteps


def make_module(tiny_denoiser, cls=SFDModule, **kwargs):
    args = dict(
        teacher=tiny_denoiser(),
        num_classes=3,
        forget_label=0,
        override_label=1,
        timesteps=Timesteps(20, 400, 700),
        loss_weights=LossWeights(sg_forget=1.0, g_forget=1.0),
        ema_decay=0.5,
        fake_score_optimizer=lambda p: torch.optim.Adam(p, lr=1e-3),
        generator_optimizer=lambda p: torch.optim.Adam(p, lr=1e-3),
    )
    args.update(kwargs)
    return cls(**args)


def noise_data(module, iterations, batch_size=4, **kwargs):
    """The data for ``module`` with what ``sfd`` links from the model's arguments given by hand."""
    return NoiseLabelDataModule(
        shape=(1, 8, 8),
        batch_size=batch_size,
        iterations=iterations,
        num_classes=module.num_classes,
        forget_label=module.forget_label,
        forgets=module.forgets,
        **kwargs,
    )


def fit(module, iterations=2, tmp_path=None, **trainer_kwargs):
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **trainer_kwargs,
    )
    trainer.fit(module, datamodule=noise_data(module, iterations))
    return trainer


def spy_on_steps(module, watched=("generator", "fake_score", "teacher")):
    """Wrap the module's fake-score and generator steps; the list returned gets, for each step taken, (its name,
    {network: the state-dict keys the step changed}) for the ``watched`` networks."""
    log = []

    def state(name):
        return {k: v.detach().clone() for k, v in getattr(module, name).state_dict().items()}

    def spying(step_name):
        step = getattr(module, step_name)

        def spy(*args):
            before = {name: state(name) for name in watched}
            out = step(*args)
            log.append(
                (
                    step_name,
                    {
                        name: sorted(
                            k for k, v in getattr(module, name).state_dict().items() if not torch.equal(old[k], v)
                        )
                        for name, old in before.items()
                    },
                )
            )
            return out

        return spy

    module.generator_step, module.fake_score_step = spying("generator_step"), spying("fake_score_step")
    return log


def record_step_inputs(module):
    """Wrap the module's fake-score and generator steps; the list returned gets, for each step taken, (its name,
    the SFDBatch and the StepDraws it was given)."""
    seen = []
    for name in ("fake_score_step", "generator_step"):
        step = getattr(module, name)

        def spy(opt, batch, draws, step=step, name=name):
            seen.append((name, batch, draws))
            return step(opt, batch, draws)

        setattr(module, name, spy)
    return seen
