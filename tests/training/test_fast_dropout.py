import pytest
import torch
from torch import nn

from crosstask.training.fast_dropout import FastDropout, use_fast_lora_dropout


def test_drops_about_p_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    out = FastDropout(0.05).train()(x)
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - 0.05) < 0.003
    assert abs(out.mean().item() - 1.0) < 0.005  # inverted dropout: kept values scaled by 1/(1-p)
    values = out.unique().tolist()
    assert values[0] == 0.0 and values[1:] == [pytest.approx(65536 / (65536 - 3277))]


def test_seeded_eval_identity_and_gradient_through_the_mask():
    d = FastDropout(0.3).train()
    x = torch.randn(7, 33, requires_grad=True)
    torch.manual_seed(1)
    a = d(x)
    torch.manual_seed(1)
    b = d(x)
    assert torch.equal(a, b)
    a.sum().backward()
    assert torch.equal(x.grad == 0, a == 0)  # dropped elements get no gradient
    assert d.eval()(x) is x
    with pytest.raises(ValueError):
        FastDropout(1.0)


def test_replaces_only_live_lora_dropouts():
    class Lora(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(p) if p else nn.Identity()})

    model = nn.Sequential(Lora(0.1), Lora(0.0), nn.Dropout(0.5))
    assert use_fast_lora_dropout(model) == 1
    assert isinstance(model[0].lora_dropout["default"], FastDropout)
    assert model[0].lora_dropout["default"].p == 0.1
    assert isinstance(model[1].lora_dropout["default"], nn.Identity)
    assert isinstance(model[2], nn.Dropout)  # not a LoRA dropout: left alone
