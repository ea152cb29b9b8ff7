"""``from_module`` / ``module_teacher``: a training run's own networks as pipelines, no file read."""

import torch
from sfd_modules import make_module

from sfd_lightning.diffusion.samplers import ddim
from sfd_lightning.pipelines.live import from_module, module_teacher


def test_the_ema_generator_and_the_teacher_of_a_live_module(tiny_denoiser):
    module = make_module(tiny_denoiser)
    pipe = from_module(module)
    assert pipe.generator.denoiser is module.generator_ema.module and pipe.meta == {}
    assert pipe.shape == (1, 8, 8) and pipe.num_classes == 3 and pipe.source is None
    z, y = torch.randn(2, 1, 8, 8), torch.tensor([0, 2])
    with torch.no_grad():
        torch.testing.assert_close(pipe.generate(z, y), module.decode(module.one_step(ema=True)(z, y)))
    teacher = module_teacher(module, 2)
    assert teacher.denoiser is module.teacher and (teacher.name, teacher.nfe) == ("teacher", 2)
    with torch.no_grad():
        torch.testing.assert_close(teacher.generate(z, y), ddim(module.teacher, z, y, 2))
