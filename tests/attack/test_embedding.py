"""The embedding attack: a learned condition token, fitted by MMD to examples of the concept."""

import torch
from torch import nn

from sfd_lightning.attack.embedding import invert_token, mmd2, token_renderer
from sfd_lightning.diffusion.conditions import ConditionTokens
from sfd_lightning.judges.classifier import ClassifierJudge
from sfd_lightning.judges.protocol import Surrogate
from sfd_lightning.models.components import TextUNet


def test_mmd_is_zero_for_one_set_and_positive_between_two():
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    assert mmd2(x, x, (1.0,)).abs() < 1e-6
    assert mmd2(x, x + 3.0, (1.0,)) > 0.1


def test_a_label_token_and_a_word_token_reproduce_their_conditions(tiny_denoiser):
    net = tiny_denoiser(num_classes=3).net
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([300.0, 300.0])
    by_label = net(x, t, torch.tensor([2, 2]))
    by_token = net(x, t, ConditionTokens(net.condition_token(2).expand(2, -1)))
    assert torch.allclose(by_label, by_token, atol=1e-6)
    torch.manual_seed(0)
    text = TextUNet(["a", "handwritten", "seven", "one"], ch=8, ch_mult=(1, 2), norm_groups=4)
    by_prompt = text(x, t, ["a handwritten seven"] * 2)
    by_word = text(x, t, ConditionTokens(text.condition_token("seven").expand(2, -1), ["a handwritten"] * 2))
    assert torch.allclose(by_prompt, by_word, atol=1e-6)


class Probe(nn.Module):
    """A surrogate that knows the concept: class 0 on one side of the hyperplane between the mean image of the
    concept's examples and the mean image of what the forgotten condition now draws; features: that score and a
    random projection of the pixels."""

    def __init__(self, concept: torch.Tensor, forgotten: torch.Tensor):
        super().__init__()
        w = (concept.mean(0) - forgotten.mean(0)).flatten()
        self.w, self.b = w / w.norm(), -(w / w.norm()) @ (concept.mean(0) + forgotten.mean(0)).flatten() / 2
        self.proj = torch.randn(w.numel(), 7, generator=torch.Generator().manual_seed(0)) / w.numel() ** 0.5

    def features(self, x):
        f = x.flatten(1)
        return torch.cat([(f @ self.w + self.b)[:, None], f @ self.proj], dim=1)

    def forward(self, x):
        score = 10.0 * self.features(x)[:, 0]
        return torch.stack([score, -score, torch.zeros_like(score)], dim=1)


def test_inversion_raises_the_surrogates_forget_class_probability(targets, context):
    """The forgotten label 0 draws something else; K = 16 examples of the concept (here: what label 2 draws) bring a
    learned token towards it, as the surrogate sees it."""
    for target in targets:
        z_probe, z = (
            torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(s)) for n, s in ((256, 1), (64, 2))
        )
        with torch.no_grad():
            concept, forgotten = (target.generate(z_probe, torch.full((256,), c)) for c in (2, 0))
        ctx = context()
        ctx.surrogate = Surrogate(ClassifierJudge(Probe(concept, forgotten)))
        examples = concept[:16]
        render, init = token_renderer(target, ctx)
        tokens = invert_token(
            render,
            init,
            ctx.surrogate.features(examples),
            ctx.surrogate.features,
            target.shape,
            (0, 40),
            batch=16,
            lr=0.1,
        )
        with torch.no_grad():
            before, after = (ctx.surrogate.log_prob(render(z, tokens[k]), 0).exp().mean() for k in (0, 40))
        assert torch.equal(tokens[0], init)
        assert after > before + 0.1, (target.name, before, after)
