import torch
from torch import nn

from audiox.vae.snake import SnakeBeta, make_activation, snake_beta


def test_snake_beta_formula_log_scale():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 11, generator=g)
    act = SnakeBeta(3)
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([0.1, -0.3, 0.5]))
        act.beta.copy_(torch.tensor([-0.2, 0.0, 0.4]))
    a, b = act.alpha.exp()[None, :, None], act.beta.exp()[None, :, None]
    expected = x + 1.0 / (b + 1e-9) * torch.sin(x * a) ** 2
    torch.testing.assert_close(act(x), expected, rtol=0, atol=1e-7)


def test_snake_beta_params_are_zero_init_vectors():
    act = SnakeBeta(5)
    assert list(act.state_dict()) == ["alpha", "beta"]
    assert act.alpha.shape == (5,) and act.beta.shape == (5,)
    x = torch.linspace(-3, 3, 7).reshape(1, 1, 7).expand(1, 5, 7)
    torch.testing.assert_close(act(x), x + torch.sin(x) ** 2)


def test_snake_beta_pure_function_matches_module():
    x = torch.randn(1, 2, 4)
    la, lb = torch.tensor([0.2, -0.1]), torch.tensor([0.3, 0.0])
    act = SnakeBeta(2)
    with torch.no_grad():
        act.alpha.copy_(la)
        act.beta.copy_(lb)
    assert torch.equal(act(x), snake_beta(x, la, lb))


def test_make_activation_elu_without_snake():
    assert isinstance(make_activation(use_snake=False, channels=4), nn.ELU)
    assert isinstance(make_activation(use_snake=True, channels=4), SnakeBeta)


def test_snake_beta_inference_path_is_bit_identical_to_the_autograd_path():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 300, generator=g) * 3
    log_alpha, log_beta = torch.randn(5, generator=g), torch.randn(5, generator=g)
    with torch.no_grad():
        fast = snake_beta(x, log_alpha, log_beta)  # in place on one temporary
    tracked = snake_beta(x.requires_grad_(), log_alpha, log_beta)  # out of place, differentiable
    assert torch.equal(fast, tracked.detach())
    tracked.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
