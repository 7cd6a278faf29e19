r"""The fast path of :func:`radarode_lite.ode.ecg_ode` (chapter 3): McSharry's Euler steps, all at once.

:mod:`radarode_lite.ode` states the model and its forward-Euler step; this module evaluates
the same steps quickly. (x, y) do not depend on the parameters, so the angle
:math:`\theta_k` along the Euler trajectory is computed once per ``(n_samples, dtype,
device)`` and cached. Given the forcing :math:`F_k` (the sum of the five Gaussian terms), the
Euler step for z is the linear recurrence :math:`z_{k+1} = (1-h) z_k + h (F_k + z_{0,k})`,
whose solution is

.. math:: z_k = (1-h)^k z_{\mathrm{init}} + \sum_{j<k} h (1-h)^{k-1-j} (F_j + z_{0,j}),

a fixed strictly lower-triangular matrix applied to the forcing: the whole batch is one
matrix product. (Above :data:`MAX_MATRIX_SAMPLES` samples the same sum is evaluated as the
scaled cumulative sum
:math:`z_k = (1-h)^k z_{\mathrm{init}} + h (1-h)^{k-1} \sum_{j<k} (F_j + z_{0,j})/(1-h)^j`,
which needs no :math:`n \times n` matrix; :math:`(1-h)^{-j} \le e` keeps it well
conditioned.)

The gradient of the forcing with respect to the parameters is written out by hand
(:class:`_GaussianForcing`: a few fused operations instead of autograd's long chain; second
derivatives stay exact). Without a gradient the forcing is computed in place in per-thread
scratch buffers (:func:`_weighted_bumps`).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import torch

# Both integrators clip the Gaussian exponents at -60: this changes z by at most
# 2 pi exp(-60) sum_i |a_i| (about 5e-26 per unit of amplitude) and keeps exp() out of the
# subnormal range, where CPUs are an order of magnitude slower.
EXPONENT_FLOOR = 60.0

# Up to this many samples the Euler recurrence for z is solved as one matrix product with an
# (n, n) lower-triangular matrix; beyond it, as a scaled cumulative sum (same numbers to rounding).
MAX_MATRIX_SAMPLES = 2048


def euler_z(params: torch.Tensor, n: int) -> torch.Tensor:
    """z after 0 .. n-1 Euler steps for every row of ``params`` (B, 15): (B, n), differentiable.

    The closed form of the module docstring: one matrix product up to
    :data:`MAX_MATRIX_SAMPLES` samples, a scaled cumulative sum beyond.
    """
    from radarode_lite.ode import INITIAL_STATE

    theta, baseline, decay, transfer = _cached_operators(n, params.dtype, params.device)
    if transfer is not None:
        # z = z_0 (1-h)^k + (F + z0) T^T, with the parameter-free part folded into one constant
        offset, transfer_t = _affine_operators(n, params.dtype, params.device)
        if torch.is_grad_enabled() and params.requires_grad:
            return torch.addmm(offset, _gaussian_forcing(params, theta), transfer_t)
        # no graph to record: the forcing in place, a few passes over (B, 5, n)
        return torch.addmm(offset, _weighted_bumps(params, theta), transfer_t, alpha=-1.0)  # new tensor
    # long cycles: the same sum as a scaled cumulative sum, O(n) memory
    drive = _gaussian_forcing(params, theta) + baseline  # F_k + z0_k, (B, n)
    partial = torch.cumsum(drive[:, :-1] / decay[:-1], dim=1)  # sum_{j<k} drive_j / (1-h)^j
    return INITIAL_STATE[2] * decay + torch.cat(
        [torch.zeros_like(drive[:, :1]), (1.0 / n) * decay[:-1] * partial], dim=1
    )


def _gaussian_forcing(params: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """F_k = -sum_i a_i dtheta_ik exp(-dtheta_ik^2 / (2 b_i^2)); params (B, 15), theta (n,) -> (B, n)."""
    return _GaussianForcing.apply(params, theta)


def _weighted_bumps(params: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """-F without autograd bookkeeping: sum_i a_i dtheta_ik exp(-dtheta_ik^2 / (2 b_i^2)), (B, n).

    The same arithmetic as :class:`_GaussianForcing`'s forward pass, done in place in two
    (B, 5, n) buffers that are kept between calls of the same shape (per thread), so that
    repeated calls, e.g. over the batches of a data set, do not ask the memory allocator for
    megabytes each time (only valid when no gradient is needed). The result is a view of a
    scratch buffer, overwritten by the next call on this thread: use it at once.
    """
    a, b, th = params[:, 0::3, None], params[:, 1::3, None], params[:, 2::3, None]
    dtheta, bumps, summed = _workspace(params.shape[0], theta.shape[0], params.dtype, params.device)
    torch.sub(theta, th, out=dtheta)
    if not bool(th.abs().max() < math.pi):  # see _phase_difference
        torch.fmod(dtheta, 2.0 * math.pi, out=dtheta)
    torch.square(dtheta, out=bumps)
    bumps.mul_(-0.5 / b**2).clamp_(min=-EXPONENT_FLOOR).exp_().mul_(dtheta)
    torch.bmm(a.transpose(1, 2), bumps, out=summed)
    return summed.squeeze(1)


_SCRATCH = threading.local()


def _workspace(batch: int, n: int, dtype: torch.dtype, device: torch.device):
    """Two (batch, 5, n) scratch buffers and a (batch, 1, n) one, reused while the shape stays the same."""
    key = (batch, n, dtype, device)
    held = getattr(_SCRATCH, "buffers", None)
    if held is None or held[0] != key:
        make = lambda *shape: torch.empty(shape, dtype=dtype, device=device)  # noqa: E731
        held = (key, make(batch, 5, n), make(batch, 5, n), make(batch, 1, n))
        _SCRATCH.buffers = held
    return held[1:]


@lru_cache(maxsize=8)
def _affine_operators(n: int, dtype: torch.dtype, device: torch.device):
    """``offset (n,) = z_0 (1-h)^k + z0 T^T`` and ``T^T (n, n)`` contiguous, built in float64."""
    from radarode_lite.ode import INITIAL_STATE

    theta, baseline, decay, transfer = _cached_operators(n, torch.float64, torch.device("cpu"))
    offset = INITIAL_STATE[2] * decay + baseline @ transfer.T
    return offset.to(dtype=dtype, device=device), transfer.T.contiguous().to(dtype=dtype, device=device)


class _GaussianForcing(torch.autograd.Function):
    """The forcing of :func:`_gaussian_forcing` with its gradient written out by hand.

    With d = dtheta, G = exp(-d^2 / 2b^2) and g the incoming gradient (B, n):
    dF/da_i = -d G, dF/db_i = -a_i d^3 G / b_i^3, dF/dtheta_i = a_i G (1 - d^2 / b_i^2)
    (d/dtheta_i of d is -1). A few fused (B, 5, n) operations instead of autograd's
    op-by-op chain: about half the cost of the backward pass. When a graph of the gradient is
    asked for (``create_graph=True``), d and G are rebuilt from ``params`` with autograd, so
    second derivatives are exact too.
    """

    @staticmethod
    def forward(ctx, params, theta):
        a, b, th = params[:, 0::3, None], params[:, 1::3, None], params[:, 2::3, None]  # (B, 5, 1)
        dtheta = _phase_difference(theta, th)  # (B, 5, n)
        gauss = dtheta.square().mul_(-0.5 / b**2).clamp_(min=-EXPONENT_FLOOR).exp_()
        ctx.save_for_backward(params, theta, dtheta, gauss)
        return torch.bmm(-a.transpose(1, 2), dtheta * gauss).squeeze(1)  # sum over the 5 waves

    @staticmethod
    def backward(ctx, grad_out):
        params, theta, dtheta, gauss = ctx.saved_tensors
        a, b = params[:, 0::3], params[:, 1::3]  # (B, 5)
        if torch.is_grad_enabled():  # create_graph: the same d and G, differentiable in params
            dtheta = _phase_difference(theta, params[:, 2::3, None])
            gauss = torch.exp(torch.clamp(dtheta.square() * (-0.5 / b[:, :, None] ** 2), min=-EXPONENT_FLOOR))
        w = gauss * grad_out[:, None, :]  # g G
        wd = w * dtheta  # g d G
        wd2 = wd * dtheta  # g d^2 G
        sum_w, sum_wd, sum_wd2 = w.sum(dim=2), wd.sum(dim=2), wd2.sum(dim=2)
        sum_wd3 = (wd2 * dtheta).sum(dim=2)
        grad_a = -sum_wd
        grad_b = -a * sum_wd3 / b**3
        grad_theta = a * (sum_w - sum_wd2 / b**2)
        return torch.stack([grad_a, grad_b, grad_theta], dim=2).reshape(params.shape), None


def _phase_difference(theta: torch.Tensor, theta_i: torch.Tensor) -> torch.Tensor:
    """``fmod(theta - theta_i, 2 pi)`` as ECGSYN computes it, without the fmod when it is the identity.

    The trajectory's angles lie in [-pi, pi]; when every theta_i lies strictly inside (-pi, pi)
    the difference is strictly inside (-2 pi, 2 pi), where fmod returns its argument unchanged,
    bit for bit. torch.fmod is the slowest operation of the solver on a CPU, so it is only
    applied when some theta_i lies outside that range.
    """
    diff = theta - theta_i
    if bool(theta_i.detach().abs().max() < math.pi):
        return diff
    return torch.fmod(diff, 2.0 * math.pi)


@lru_cache(maxsize=8)
def _cached_operators(n: int, dtype: torch.dtype, device: torch.device):
    """theta (n,), baseline (n,), decay (n,) and transfer (n, n) for the closed-form Euler z.

    ``transfer`` is None above :data:`MAX_MATRIX_SAMPLES` (its n^2 entries would dominate
    memory); :func:`euler_z` then uses the equivalent scaled cumulative sum.
    """
    from radarode_lite.ode import BASELINE_AMPLITUDE, BASELINE_FREQUENCY_HZ, _xy_trajectory

    h = 1.0 / n
    xy = torch.tensor(_xy_trajectory(n), dtype=torch.float64)
    theta = torch.atan2(xy[:, 1], xy[:, 0])
    t = torch.arange(n, dtype=torch.float64) * h
    baseline = BASELINE_AMPLITUDE * torch.sin(2.0 * math.pi * BASELINE_FREQUENCY_HZ * t)
    decay = (1.0 - h) ** torch.arange(n, dtype=torch.float64)  # (1-h)^k
    transfer = None
    if n <= MAX_MATRIX_SAMPLES:
        k = torch.arange(n, dtype=torch.float64)
        lag = k[:, None] - 1.0 - k[None, :]  # k - 1 - j
        transfer = torch.where(lag >= 0, h * (1.0 - h) ** lag.clamp(min=0.0), torch.zeros((), dtype=torch.float64))
        transfer = transfer.to(dtype=dtype, device=device)
    return (*(v.to(dtype=dtype, device=device) for v in (theta, baseline, decay)), transfer)
