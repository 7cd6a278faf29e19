r"""McSharry's ECG dynamical model, integrated by forward Euler, vectorised and differentiable.

The model (McSharry, Clifford, Tarassenko & Smith, IEEE TBME 50(3), 2003) moves a point
around the unit circle in the (x, y) plane and lets a third coordinate z, the ECG, react to
five Gaussian "events" placed at fixed angles of that circle, one per wave P, Q, R, S, T:

.. math::

    \dot x = \alpha x - \omega y, \qquad \dot y = \alpha y + \omega x, \qquad
    \alpha = 1 - \sqrt{x^2 + y^2},

    \dot z = -\sum_{i \in \{P,Q,R,S,T\}} a_i\, \Delta\theta_i
              \exp\!\Big(-\frac{\Delta\theta_i^2}{2 b_i^2}\Big) - (z - z_0(t)),

with :math:`\theta = \operatorname{atan2}(y, x)`,
:math:`\Delta\theta_i = \operatorname{fmod}(\theta - \theta_i, 2\pi)` (the C/MATLAB
remainder, sign of the dividend, as in ECGSYN) and the baseline wander
:math:`z_0(t) = A \sin(2\pi f_2 t)`, :math:`A = 0.005`, :math:`f_2 = 0.25` Hz.

One cardiac cycle lasts :math:`2\pi/\omega = 1.0011` s of model time and is sampled with
``n_samples`` forward-Euler steps of size :math:`h = 1/n` from the initial state of the radarODE authors' solver.
Output sample ``k`` (``k = 0 .. n-1``) is the state after ``k`` steps, i.e. at model time
:math:`t_k = k h`; sample 0 is the initial value :math:`z = -0.00455` for every parameter
vector.

:func:`ecg_ode` states the Euler step and leaves its evaluation to
:mod:`radarode_lite._ode_fast`, which solves the z recurrence for all samples and a whole batch
at once (one matrix product, a cached trajectory, a hand-written gradient); :func:`ecg_ode_loop`
is the same scheme written as the plain step loop. Both integrators clip the Gaussian exponent
at -60 (a change below 1e-25 per unit of amplitude) to keep ``exp`` out of the slow subnormal
range.

Parameter layout (:data:`PARAM_NAMES`): 15 numbers interleaved wave by wave,
``[a_P, b_P, theta_P, a_Q, b_Q, theta_Q, a_R, b_R, theta_R, a_S, b_S, theta_S, a_T, b_T,
theta_T]``; ``a`` is the event amplitude (dimensionless), ``b`` its angular width (rad) and
``theta`` its angular position on the cycle (rad, R at 0).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from radarode_lite import _checks, _ode_fast
from radarode_lite._ode_fast import EXPONENT_FLOOR as _EXPONENT_FLOOR
from radarode_lite.conventions import ECG_MORPHOLOGY, SHAPE_SAMPLES, WAVES

__all__ = [
    "WAVES",
    "PARAM_NAMES",
    "ECGSYN_DEFAULTS",
    "DEFAULT_PARAMS",
    "INITIAL_STATE",
    "OMEGA",
    "BASELINE_AMPLITUDE",
    "BASELINE_FREQUENCY_HZ",
    "ecg_ode",
    "ecg_ode_loop",
    "relative_params",
    "phase_trajectory",
]

# WAVES (from radarode_lite.conventions): the five waves of one beat, in the order the parameters use.

#: Names of the 15 parameters, in the order of :data:`DEFAULT_PARAMS`: (a, b, theta) per wave.
PARAM_NAMES = tuple(f"{name}_{wave}" for wave in WAVES for name in ("a", "b", "theta"))

#: The wave parameters of McSharry et al. (2003), Table 1, laid out as :data:`PARAM_NAMES`
#: (:data:`radarode_lite.conventions.ECG_MORPHOLOGY`).
ECGSYN_DEFAULTS = ECG_MORPHOLOGY
#: :data:`ECGSYN_DEFAULTS` as a tensor, shape (15,), float32.
DEFAULT_PARAMS = torch.tensor(ECGSYN_DEFAULTS, dtype=torch.float32)

#: Initial state (x, y, z) of the radarODE authors' solver (``ODE_solver.py``), a point on the
#: unit circle at angle about -2.0 rad (ECGSYN itself starts at (1, 0, 0.04)).
INITIAL_STATE = (-0.417750770388669, -0.9085616622823985, -0.004551233843726818)

#: Angular velocity (rad/s) for a 1.0011 s cycle, as in the radarODE decoder.
OMEGA = 2.0 * math.pi / 1.0011

#: Baseline wander z0(t) = A sin(2 pi f2 t): amplitude (model units) and frequency (Hz).
BASELINE_AMPLITUDE = 0.005
BASELINE_FREQUENCY_HZ = 0.25


def ecg_ode(params: torch.Tensor, n_samples: int = SHAPE_SAMPLES) -> torch.Tensor:
    r"""One ECG cycle per parameter vector from McSharry's model, vectorised (chapter 3).

    Forward Euler with step :math:`h = 1/n` from :data:`INITIAL_STATE`, :math:`t_k = k h`:

    .. math::

        x_{k+1} = x_k + h\,(\alpha_k x_k - \omega y_k), \qquad
        y_{k+1} = y_k + h\,(\alpha_k y_k + \omega x_k), \qquad
        \alpha_k = 1 - \sqrt{x_k^2 + y_k^2},

        z_{k+1} = z_k + h\,\big(F_k - (z_k - z_0(t_k))\big), \qquad
        F_k = -\sum_i a_i\, \Delta\theta_{i,k} \exp\!\Big(-\frac{\Delta\theta_{i,k}^2}{2 b_i^2}\Big),

    :math:`\Delta\theta_{i,k} = \operatorname{fmod}(\operatorname{atan2}(y_k, x_k) - \theta_i, 2\pi)`;
    output sample ``k`` is :math:`z_k`. :func:`ecg_ode_loop` takes these steps one by one; here
    all of them are taken at once for the whole batch (:func:`radarode_lite._ode_fast.euler_z`:
    the cached (x, y) trajectory and the closed-form solution of the linear z recurrence), with
    the same numbers to floating-point rounding. Differentiable with respect to ``params``.

    Parameters
    ----------
    params : torch.Tensor, float, shape ``(B, 15)`` or ``(15,)``
        Rows laid out as :data:`PARAM_NAMES` (a dimensionless, b and theta in rad).
    n_samples : int, at least 2
        Samples per cycle (= number of Euler steps per second of model time).

    Returns
    -------
    torch.Tensor, shape ``(B, n_samples)`` (or ``(n_samples,)`` for a 1-D ``params``),
    same dtype and device as ``params``.
    """
    params, squeeze = _check_params(params)
    n = _check_n_samples(n_samples)
    z = _ode_fast.euler_z(params, n)
    return z[0] if squeeze else z


def ecg_ode_loop(params: torch.Tensor, n_samples: int = SHAPE_SAMPLES) -> torch.Tensor:
    """The same forward-Euler scheme as :func:`ecg_ode`, written as the plain step loop.

    Integrates x, y and z together, one Euler step at a time (batched over rows of
    ``params``); slow, but a direct transcription of the equations, used as the reference that
    :func:`ecg_ode` must reproduce to floating-point rounding (chapter 3).

    Parameters and return value as :func:`ecg_ode`.
    """
    params, squeeze = _check_params(params)
    n = _check_n_samples(n_samples)
    h = 1.0 / n
    batch = params.shape[0]
    a, b, th = params[:, 0::3], params[:, 1::3], params[:, 2::3]  # (B, 5) each
    x = params.new_full((batch,), INITIAL_STATE[0])
    y = params.new_full((batch,), INITIAL_STATE[1])
    z = params.new_full((batch,), INITIAL_STATE[2])
    out = [z]
    for k in range(n - 1):
        t = k * h
        alpha = 1.0 - torch.sqrt(x * x + y * y)
        dx = alpha * x - OMEGA * y
        dy = alpha * y + OMEGA * x
        theta = torch.atan2(y, x)
        dtheta = torch.fmod(theta[:, None] - th, 2.0 * math.pi)
        gauss = torch.exp(torch.clamp(-0.5 * dtheta**2 / b**2, min=-_EXPONENT_FLOOR))
        z0 = BASELINE_AMPLITUDE * math.sin(2.0 * math.pi * BASELINE_FREQUENCY_HZ * t)
        dz = -(a * dtheta * gauss).sum(dim=1) - (z - z0)
        x, y, z = x + h * dx, y + h * dy, z + h * dz
        out.append(z)
    result = torch.stack(out, dim=1)
    return result[0] if squeeze else result


def relative_params(
    deviation: torch.Tensor, max_rel: float = 0.5, max_shift: float = math.pi / 12
) -> torch.Tensor:
    """Map unbounded deviations to ODE parameters in a bounded box around :data:`DEFAULT_PARAMS`.

    With ``u = tanh(deviation)`` (elementwise, in (-1, 1)), amplitudes and widths are scaled,
    ``a = a_default (1 + max_rel u_a)`` and ``b = b_default (1 + max_rel u_b)``, and positions
    shifted, ``theta = theta_default + max_shift u_theta``. Every a keeps its sign and every b
    stays positive (``max_rel < 1``), so a network (chapter 6) or an optimiser (chapter 3) can
    output any real numbers. ``deviation = 0`` gives the defaults.

    Parameters
    ----------
    deviation : torch.Tensor, float, shape ``(B, 15)`` or ``(15,)``, laid out as :data:`PARAM_NAMES`.
    max_rel : float in [0, 1)
        Largest relative change of a and b.
    max_shift : float >= 0, rad
        Largest shift of each theta.

    Returns
    -------
    torch.Tensor, same shape, dtype and device as ``deviation``.
    """
    deviation, squeeze = _check_params(deviation, name="deviation")
    if isinstance(max_rel, bool) or not isinstance(max_rel, (int, float)) or not 0.0 <= max_rel < 1.0:
        raise ValueError(f"max_rel must be a number in [0, 1), got {max_rel!r}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, float)) or not 0.0 <= max_shift < math.inf:
        raise ValueError(f"max_shift must be a finite number >= 0 (rad), got {max_shift!r}")
    default = torch.tensor(ECGSYN_DEFAULTS, dtype=deviation.dtype, device=deviation.device)
    is_theta = torch.zeros(15, dtype=torch.bool, device=deviation.device)
    is_theta[2::3] = True
    u = torch.tanh(deviation)
    params = torch.where(is_theta, default + max_shift * u, default * (1.0 + max_rel * u))
    return params[0] if squeeze else params


def phase_trajectory(n_samples: int = SHAPE_SAMPLES, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """The Euler trajectory of (x, y), shared by every beat: returns ``(xy, theta)`` (chapter 3).

    ``xy``: ``(n_samples, 2)``, the state after ``k`` steps; ``theta``: ``(n_samples,)``,
    ``atan2(y, x)`` in rad. Independent of the ECG parameters.
    """
    n = _check_n_samples(n_samples)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    xy = torch.tensor(_xy_trajectory(n), dtype=torch.float64)
    return xy.to(dtype), torch.atan2(xy[:, 1], xy[:, 0]).to(dtype)


# --------------------------------------------------------------------------- helpers


def _check_params(params, name: str = "params") -> tuple[torch.Tensor, bool]:
    if not isinstance(params, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, 15) or (15,), got {type(params).__name__}")
    if not params.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {params.dtype}")
    squeeze = params.ndim == 1
    if squeeze:
        params = params[None, :]
    if params.ndim != 2 or params.shape[1] != 15 or params.shape[0] < 1:
        shape = tuple(params.shape[1:]) if squeeze else tuple(params.shape)
        raise ValueError(f"{name} must have shape (B, 15) with B >= 1, or (15,), got {shape}")
    if not bool(torch.isfinite(params).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return params, squeeze


def _check_n_samples(n_samples) -> int:
    return _checks.integer(n_samples, "n_samples", low=2)


@lru_cache(maxsize=8)
def _xy_trajectory(n: int) -> tuple[tuple[float, float], ...]:
    """Forward-Euler (x, y) with h = 1/n, in double precision; n states, the first the initial one."""
    h = 1.0 / n
    x, y = INITIAL_STATE[0], INITIAL_STATE[1]
    states = [(x, y)]
    for _ in range(n - 1):
        alpha = 1.0 - math.sqrt(x * x + y * y)
        x, y = x + h * (alpha * x - OMEGA * y), y + h * (alpha * y + OMEGA * x)
        states.append((x, y))
    return tuple(states)
