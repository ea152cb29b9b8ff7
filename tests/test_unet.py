"""The conditional UNet: shapes, the null label, and the CIFAR-10 reference size."""
import pytest
import torch

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.components import UNet


def test_tiny_unet_shapes_and_null_label():
    torch.manual_seed(0)
    net = UNet(in_channels=3, resolution=16, ch=8, ch_mult=(1, 2, 2), num_res_blocks=2, attn_resolutions=(8,),
               dropout=0.0, num_classes=5, norm_groups=4)
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([10.0, 500.5])
    out = net(x, t, torch.tensor([1, 4]))
    assert out.shape == x.shape
    # -1 is the learned null class, distinct from every real class and equal to passing no labels
    null = net(x, t, torch.tensor([-1, -1]))
    torch.testing.assert_close(null, net(x, t, None))
    assert not torch.allclose(null, out)


def test_cifar10_reference_size_builds():
    """ch 128, mult (1, 2, 2, 2), 2 res blocks, attention at 16px: the CIFAR-10 size, the same order as the
    reference DDPM's 35.7M parameters (the reference-layout DDPMUNet is checked weight for weight elsewhere)."""
    net = UNet(in_channels=3, resolution=32, ch=128, ch_mult=(1, 2, 2, 2), num_res_blocks=2, attn_resolutions=(16,),
               dropout=0.1, num_classes=10)
    n = sum(p.numel() for p in net.parameters())
    assert 35e6 < n < 40e6
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32), torch.tensor([3.0]), torch.tensor([2])).shape == (1, 3, 32, 32)


def test_bad_sizes_name_the_field():
    with pytest.raises(ConfigError, match="net.norm_groups"):
        UNet(ch=12, norm_groups=8)
    with pytest.raises(ConfigError, match="net.resolution"):
        UNet(resolution=12, ch_mult=(1, 2, 2, 2))
