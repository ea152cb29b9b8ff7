"""LoRA adapters through peft: zero at the start, trained alone, removed without a trace."""

import pytest
import torch
from torch import nn

from sfd_lightning.errors import ConfigError
from sfd_lightning.models.lora import check_base_precision, lora_adapted, lora_targets


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = self.conv(x).flatten(2).transpose(1, 2)
        return self.head(self.attn(h, h, h)[0]).mean(1)


def test_lora_adapts_the_called_layers_trains_only_its_adapters_and_leaves_no_trace():
    torch.manual_seed(0)
    net, x = Net(), torch.randn(2, 1, 4, 4)
    assert lora_targets(net) == ["conv", "head"]  # attn.out_proj is read as a bare weight by MultiheadAttention
    before = {k: v.clone() for k, v in net.state_dict().items()}
    y0 = net(x).detach()
    with lora_adapted(net, rank=2) as params:
        assert len(params) == 4 and all(p.requires_grad for p in params)
        assert torch.allclose(net(x), y0, atol=1e-6)  # B = 0: the adapted network starts where the released one is
        frozen = [p for n, p in net.named_parameters() if "lora_" not in n]
        assert frozen and not any(p.requires_grad for p in frozen)
        optimizer = torch.optim.Adam(params, lr=0.1)
        for _ in range(3):
            loss = net(x).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        assert not torch.allclose(net(x), y0)
    assert type(net.conv) is nn.Conv2d and type(net.head) is nn.Linear and not hasattr(net, "peft_config")
    assert set(net.state_dict()) == set(before) and all(torch.equal(net.state_dict()[k], v) for k, v in before.items())
    assert all(p.requires_grad for p in net.parameters()) and torch.equal(net(x), y0)


def test_a_half_precision_base_needs_a_mixed_or_half_trainer_precision():
    def model(base_dtype):
        return {
            "class_path": "sfd_lightning.models.SFDModule",
            "init_args": {"lora": {"rank": 4, "base_dtype": base_dtype}},
        }

    for precision in ("bf16-mixed", "16-mixed", "bf16-true", "bf16"):
        check_base_precision(model("bfloat16"), precision)
    for base_dtype in (None, "float32"):
        check_base_precision(model(base_dtype), None)
    check_base_precision({"init_args": {"lora": None}}, "32-true")
    for precision in (None, "32-true", 32, "64-true"):
        with pytest.raises(
            ConfigError, match=rf"^model.lora.base_dtype: float16 .* got trainer.precision={precision}: "
        ):
            check_base_precision(model("float16"), precision)
