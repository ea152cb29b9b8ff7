"""The DDPM UNet (the project's one UNet) beyond reference parity: the null label, the class-free
text hook, warm starts between the two, and size errors."""

import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.io.source import Source
from sfd_lightning.io.strict import load_matching
from sfd_lightning.models.components import DDPMUNet, TextUNet

SMALL = dict(
    in_channels=1,
    resolution=8,
    ch=8,
    ch_mult=(1, 2),
    num_res_blocks=1,
    attn_resolutions=(4,),
    dropout=0.0,
    norm_groups=4,
)


def test_null_label_is_its_own_class_and_equals_no_labels():
    torch.manual_seed(0)
    net = DDPMUNet(num_classes=5, **SMALL)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([10.0, 500.5])
    out = net(x, t, torch.tensor([1, 4]))
    null = net(x, t, torch.tensor([-1, -1]))
    torch.testing.assert_close(null, net(x, t, None))
    assert not torch.allclose(null, out)


def test_cond_emb_takes_the_class_embeddings_place():
    torch.manual_seed(0)
    net = DDPMUNet(num_classes=None, **SMALL)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([10, 700])
    cond = torch.randn(2, 4 * 8)
    assert not hasattr(net, "classes_emb")
    assert not torch.allclose(net(x, t, cond_emb=cond), net(x, t, cond_emb=torch.zeros_like(cond)))
    torch.testing.assert_close(net(x, t), net(x, t, cond_emb=torch.zeros_like(cond)))


def test_text_unet_starts_from_a_class_unet_but_its_embeddings():
    torch.manual_seed(0)
    classes = DDPMUNet(num_classes=10, **SMALL)
    text = TextUNet(["one", "seven"], **SMALL)
    left = load_matching(text, classes.state_dict(), Source("teacher.pt", "model.init_weights"))
    assert left and all(k.startswith("text.") for k in left)
    torch.testing.assert_close(text.conv_in.weight, classes.conv_in.weight)
    out = text(torch.randn(2, 1, 8, 8), torch.tensor([3, 300]), ["a seven", ""])
    assert out.shape == (2, 1, 8, 8)
    with pytest.raises(TypeError, match="prompts"):
        text(torch.randn(1, 1, 8, 8), torch.tensor([3]), torch.tensor([1]))


def test_bad_sizes_name_the_field():
    with pytest.raises(ConfigError, match="net.norm_groups"):
        DDPMUNet(ch=12, norm_groups=8)
    with pytest.raises(ConfigError, match="net.resolution"):
        DDPMUNet(resolution=12, ch_mult=(1, 2, 2, 2))
    with pytest.raises(ConfigError, match="model.init_weights: .*shares no weight"):
        load_matching(
            DDPMUNet(num_classes=2, **SMALL), {"other.weight": torch.zeros(1)}, Source("x.pt", "model.init_weights")
        )
