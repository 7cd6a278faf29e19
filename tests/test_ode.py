"""Tests for radarode_lite.ode: McSharry's ECG model, vectorised and as a step loop."""

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from radarode_lite import ode


def random_params(batch, seed, dtype=torch.float64):
    """Parameters scattered around the defaults: a, b up to +-40 %, theta up to +-0.2 rad."""
    g = torch.Generator().manual_seed(seed)
    return ode.relative_params(
        torch.randn(batch, 15, generator=g, dtype=dtype) * 2.0, max_rel=0.4, max_shift=0.2
    )


def test_default_params_follow_the_documented_layout():
    assert len(ode.PARAM_NAMES) == 15 == ode.DEFAULT_PARAMS.shape[0]
    published = {
        "P": (1.2, 0.25, -math.pi / 3),
        "Q": (-5.0, 0.1, -math.pi / 12),
        "R": (30.0, 0.1, 0.0),
        "S": (-7.5, 0.1, math.pi / 12),
        "T": (0.75, 0.4, math.pi / 2),
    }
    for wave, (a, b, theta) in published.items():
        for name, value in zip(("a", "b", "theta"), (a, b, theta)):
            i = ode.PARAM_NAMES.index(f"{name}_{wave}")
            assert ode.DEFAULT_PARAMS[i].item() == pytest.approx(value, abs=1e-6)
    # interleaved wave by wave
    assert ode.PARAM_NAMES[:4] == ("a_P", "b_P", "theta_P", "a_Q")


@pytest.mark.parametrize("n_samples", [2, 3, 57, 200, 321, 2049])
def test_vectorised_equals_step_loop_in_float64(n_samples):
    params = random_params(6 if n_samples < 1000 else 2, seed=n_samples)
    fast = ode.ecg_ode(params, n_samples)
    slow = ode.ecg_ode_loop(params, n_samples)
    assert fast.shape == slow.shape == (params.shape[0], n_samples)
    assert torch.allclose(fast, slow, rtol=0.0, atol=1e-10)


def test_vectorised_equals_step_loop_far_from_the_defaults():
    g = torch.Generator().manual_seed(7)
    params = torch.empty(8, 15, dtype=torch.float64)
    params[:, 0::3] = 60 * torch.rand(8, 5, generator=g, dtype=torch.float64) - 30  # a in [-30, 30]
    params[:, 1::3] = 0.05 + torch.rand(8, 5, generator=g, dtype=torch.float64)  # b in [0.05, 1.05]
    params[:, 2::3] = 14 * torch.rand(8, 5, generator=g, dtype=torch.float64) - 7  # theta beyond 2 pi
    assert torch.allclose(ode.ecg_ode(params, 150), ode.ecg_ode_loop(params, 150), rtol=0.0, atol=1e-10)


def test_float32_matches_float64_to_rounding():
    params = random_params(4, seed=1)
    ref = ode.ecg_ode_loop(params)
    for fn in (ode.ecg_ode, ode.ecg_ode_loop):
        out = fn(params.float())
        assert out.dtype == torch.float32
        assert (out.double() - ref).abs().max() < 1e-5


def test_first_sample_is_initial_state_and_rows_are_independent():
    params = random_params(5, seed=2)
    z = ode.ecg_ode(params, 100)
    assert torch.allclose(z[:, 0], torch.full((5,), ode.INITIAL_STATE[2], dtype=torch.float64))
    single = ode.ecg_ode(params[3], 100)  # a (15,) vector gives one (n_samples,) beat
    assert single.shape == (100,)
    assert torch.allclose(single, z[3], atol=1e-12)


def test_output_is_affine_in_the_amplitudes():
    # z' is linear in (a, z): scaling every a by c scales the part of z that the waves cause.
    params = random_params(3, seed=3)
    flat = params.clone()
    flat[:, 0::3] = 0.0
    scaled = params.clone()
    scaled[:, 0::3] *= -2.5
    base = ode.ecg_ode(flat)
    assert torch.allclose(ode.ecg_ode(scaled) - base, -2.5 * (ode.ecg_ode(params) - base), atol=1e-12)


def test_euler_converges_to_a_tight_rk45_solution():
    params = ode.DEFAULT_PARAMS.double()
    a, b, th = params[0::3].numpy(), params[1::3].numpy(), params[2::3].numpy()

    def rhs(t, s):
        x, y, z = s
        alpha = 1.0 - math.hypot(x, y)
        dth = np.fmod(math.atan2(y, x) - th, 2 * math.pi)
        z0 = 0.005 * math.sin(2 * math.pi * 0.25 * t)
        dz = -np.sum(a * dth * np.exp(-(dth**2) / (2 * b**2))) - (z - z0)
        w = 2 * math.pi / 1.0011
        return [alpha * x - w * y, alpha * y + w * x, dz]

    t_common = np.arange(200) / 200
    exact = solve_ivp(rhs, (0, t_common[-1]), ode.INITIAL_STATE, t_eval=t_common,
                      method="RK45", rtol=1e-10, atol=1e-12).y[2]
    errors = []
    for n in (200, 400, 800, 1600):
        z = ode.ecg_ode(params, n).numpy()[:: n // 200]
        errors.append(np.abs(z - exact).max())
    assert all(e1 < e0 for e0, e1 in zip(errors, errors[1:]))
    # first order: each halving of h roughly halves the error
    assert errors[-1] < errors[0] / 4
    assert errors[0] < 0.2 * np.ptp(exact)  # 200 steps already give the right shape


def test_gradients_match_finite_differences():
    params = random_params(2, seed=4).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: ode.ecg_ode(p, 16), (params,), eps=1e-6, atol=1e-6)


def test_vectorised_and_loop_gradients_agree():
    params = random_params(3, seed=5)
    weights = torch.randn(3, 60, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grads = []
    for fn in (ode.ecg_ode, ode.ecg_ode_loop):
        p = params.clone().requires_grad_(True)
        (fn(p, 60) * weights).sum().backward()
        assert torch.isfinite(p.grad).all()
        grads.append(p.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-10)


def test_second_derivatives_match_the_step_loop():
    # Hessian-vector products: the hand-written backward of ecg_ode must itself be differentiable.
    params = random_params(2, seed=6)
    vector = torch.randn(2, 15, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    hvps = []
    for fn in (ode.ecg_ode, ode.ecg_ode_loop):
        p = params.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad((fn(p, 40) ** 2).sum(), p, create_graph=True)
        (hvp,) = torch.autograd.grad((grad * vector).sum(), p)
        hvps.append(hvp)
    assert hvps[0].abs().max() > 0
    assert torch.allclose(hvps[0], hvps[1], rtol=1e-8, atol=1e-12)


def test_default_beat_has_its_waves_at_their_phases():
    z = ode.ecg_ode(ode.DEFAULT_PARAMS.double()).numpy()
    _, theta = ode.phase_trajectory(200)
    theta = theta.numpy()

    def sample_at(phase):
        return int(np.argmin(np.abs(theta - phase)))

    p, q, r, s, t = (sample_at(ph) for ph in ode.DEFAULT_PARAMS[2::3].double().numpy())
    assert p < q < r < s < t
    assert abs(int(np.argmax(z)) - r) <= 1  # the R wave is the global maximum
    assert abs(int(np.argmin(z[q - 5 : r])) + q - 5 - q) <= 1  # Q: minimum before R
    assert abs(int(np.argmin(z[r : t])) + r - s) <= 1  # S: minimum after R
    p_peak = int(np.argmax(z[: q - 5]))
    t_peak = int(np.argmax(z[s + 5 :])) + s + 5
    assert abs(p_peak - p) <= 2 and abs(t_peak - t) <= 3
    assert 0 < z[p_peak] < z[r] and 0 < z[t_peak] < z[r]


def test_phase_trajectory_goes_once_round_the_unit_circle():
    xy, theta = ode.phase_trajectory(400)
    radius = xy.norm(dim=1)
    assert abs(radius[0].item() - 1.0) < 1e-6 and (radius - 1.0).abs().max() < 0.1
    unwrapped = np.unwrap(theta.numpy())
    assert np.all(np.diff(unwrapped) > 0)
    assert 0.95 * 2 * math.pi < unwrapped[-1] - unwrapped[0] < 2 * math.pi


def test_relative_params_stays_in_its_box():
    assert torch.allclose(ode.relative_params(torch.zeros(15)), ode.DEFAULT_PARAMS)
    dev = torch.tensor([-50.0, 50.0]).repeat_interleave(15).reshape(2, 15)
    out = ode.relative_params(dev, max_rel=0.5, max_shift=0.3)
    default = ode.DEFAULT_PARAMS
    a, b, th = out[:, 0::3], out[:, 1::3], out[:, 2::3]
    assert torch.all(torch.sign(a) == torch.sign(default[0::3])) and torch.all(b > 0)
    assert torch.allclose(a[0], 0.5 * default[0::3]) and torch.allclose(a[1], 1.5 * default[0::3])
    assert torch.allclose(th[0], default[2::3] - 0.3) and torch.allclose(th[1], default[2::3] + 0.3)
    d = torch.zeros(1, 15, requires_grad=True)
    ode.ecg_ode(ode.relative_params(d)).sum().backward()
    assert d.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "params, n_samples, error",
    [
        (np.zeros((2, 15)), 200, TypeError),
        (torch.zeros(2, 15, dtype=torch.int64), 200, TypeError),
        (torch.zeros(2, 14), 200, ValueError),
        (torch.zeros(2, 15, 1), 200, ValueError),
        (torch.zeros(0, 15), 200, ValueError),
        (torch.zeros(16), 200, ValueError),
        (torch.tensor([[float("nan")] * 15]), 200, ValueError),
        (torch.tensor([[float("inf")] * 15]), 200, ValueError),
        (torch.zeros(2, 15), 1, ValueError),
        (torch.zeros(2, 15), 2.5, TypeError),
        (torch.zeros(2, 15), True, TypeError),
    ],
)
def test_bad_inputs_raise(params, n_samples, error):
    for fn in (ode.ecg_ode, ode.ecg_ode_loop):
        with pytest.raises(error, match="params|n_samples"):
            fn(params, n_samples)


def test_relative_params_rejects_bad_bounds():
    with pytest.raises(ValueError, match="max_rel"):
        ode.relative_params(torch.zeros(15), max_rel=1.0)
    with pytest.raises(ValueError, match="max_shift"):
        ode.relative_params(torch.zeros(15), max_shift=-0.1)
    with pytest.raises(ValueError, match="deviation"):
        ode.relative_params(torch.zeros(3, 5))


def test_no_grad_results_are_independent_of_later_calls_and_threads():
    """The no-gradient path reuses scratch buffers: results must never alias them."""
    import threading

    g = torch.Generator().manual_seed(5)
    p1 = ode.relative_params(torch.randn(8, 15, generator=g, dtype=torch.float64))
    p2 = ode.relative_params(torch.randn(8, 15, generator=g, dtype=torch.float64))
    with torch.no_grad():
        first = ode.ecg_ode(p1)
        kept = first.clone()
        second = ode.ecg_ode(p2)  # same shape: the same scratch buffers
    assert torch.equal(first, kept)
    assert not torch.allclose(first, second)
    torch.testing.assert_close(first, ode.ecg_ode_loop(p1), rtol=0, atol=1e-5)
    # with a gradient the autograd path gives the same numbers
    torch.testing.assert_close(ode.ecg_ode(p1.clone().requires_grad_(True)).detach(), first, rtol=0, atol=1e-12)
    out = {}

    def work(name, p):
        with torch.no_grad():
            for _ in range(20):
                out[name] = ode.ecg_ode(p)

    threads = [threading.Thread(target=work, args=(k, p)) for k, p in (("a", p1), ("b", p2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert torch.equal(out["a"], first) and torch.equal(out["b"], second)
