"""Loss balancing: task weights computed from the task losses alone (chapter 9).

A multi-task network with hard parameter sharing minimises a scalarisation of its ``n``
task losses :math:`\\mathcal{L}_1, \\dots, \\mathcal{L}_n`. The simplest is the plain sum;
the methods here choose weights (or a non-linear scalarisation) from the loss values only,
without looking at the task gradients:

==========  ==========================================================  =====================
method      update direction on the shared parameters                  paper
==========  ==========================================================  =====================
EW          :math:`\\sum_i \\nabla \\mathcal{L}_i`                         (baseline)
UW          :math:`\\sum_i e^{-s_i} \\nabla \\mathcal{L}_i`, learned s_i      Kendall et al., 2018
DWA         :math:`\\sum_i w_i(t) \\nabla \\mathcal{L}_i`, loss-rate softmax   Liu et al., 2019
GLS         :math:`\\nabla (\\prod_i \\mathcal{L}_i)^{1/n}`                   Chennupati et al., 2019
RLW         :math:`\\sum_i w_i \\nabla \\mathcal{L}_i`, random w on simplex    Lin et al., 2022
STCH        :math:`\\nabla\\, \\mu \\log \\sum_i \\exp(\\log(\\mathcal{L}_i/z_i)/\\mu)`  Lin et al., 2024
GradNorm    :math:`\\sum_i w_i \\nabla \\mathcal{L}_i`, w from gradient norms  Chen et al., 2018
==========  ==========================================================  =====================

Every function here is pure except the two small modules that hold learned weights
(:class:`UncertaintyWeights`, :class:`GradNormWeights`). The classes in
:mod:`radarode_lite.mtl.methods` wrap them behind one training interface.

Shapes: ``losses`` is a tensor ``(n_tasks,)`` of scalar task losses (or a sequence of
scalar tensors), each strictly positive where a logarithm is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from radarode_lite._checks import non_negative, positive, positive_int, torch_generator

__all__ = [
    "equal_weights",
    "uncertainty_loss",
    "UncertaintyWeights",
    "dwa_weights",
    "gls_loss",
    "gls_weights",
    "rlw_weights",
    "stch_loss",
    "stch_weights",
    "gradnorm_loss",
    "GradNormWeights",
]

#: Smallest loss value passed to a logarithm (keeps ``log`` finite for a perfect fit).
LOG_EPS = 1e-20


def equal_weights(n_tasks: int) -> torch.Tensor:
    """Equal weighting (EW): ``w = (1, ..., 1)``, the update is the summed task gradient.

    The baseline of every MTL comparison (chapter 9; Table II of Zhang et al., 2025).

    Parameters
    ----------
    n_tasks : int
        Number of tasks ``n >= 1``.

    Returns
    -------
    Tensor ``(n_tasks,)`` of ones.
    """
    return torch.ones(positive_int(n_tasks, "n_tasks"))


def uncertainty_loss(losses, log_vars: torch.Tensor) -> torch.Tensor:
    """Uncertainty weighting (UW) objective with learned log-variances (Kendall et al., 2018).

    .. math:: \\mathcal{L}_{UW} = \\sum_i e^{-s_i}\\, \\mathcal{L}_i + s_i,
              \\qquad s_i = \\log \\sigma_i^2 .

    This is twice Kendall et al.'s homoscedastic objective for regression,
    :math:`\\sum_i \\mathcal{L}_i / (2\\sigma_i^2) + \\log \\sigma_i`, so it has the same
    minimiser: for fixed losses, :math:`\\partial \\mathcal{L}_{UW} / \\partial s_i =
    1 - e^{-s_i} \\mathcal{L}_i = 0` at :math:`\\sigma_i^2 = \\mathcal{L}_i`. The weight on
    task ``i`` is then :math:`1/\\mathcal{L}_i`, which removes the loss scale. At
    ``s = 0`` (the usual start) the weights are 1 and UW begins as EW (chapter 9).

    Parameters
    ----------
    losses : tensor ``(n_tasks,)`` or sequence of scalar tensors
        Current task losses (differentiable).
    log_vars : tensor ``(n_tasks,)``
        The learned :math:`s_i = \\log \\sigma_i^2`.

    Returns
    -------
    Scalar tensor, differentiable in both ``losses`` and ``log_vars``.
    """
    losses = _as_loss_vector(losses)
    if not isinstance(log_vars, torch.Tensor) or log_vars.shape != losses.shape:
        raise ValueError(f"log_vars must be a tensor of shape {tuple(losses.shape)}, got "
                         f"{getattr(log_vars, 'shape', type(log_vars).__name__)}")
    return (torch.exp(-log_vars) * losses + log_vars).sum()


class UncertaintyWeights(torch.nn.Module):
    """Learned log-variances :math:`s_i = \\log\\sigma_i^2` of uncertainty weighting (UW).

    ``forward(losses)`` returns :func:`uncertainty_loss`; :meth:`weights` the current task
    weights :math:`e^{-s_i}`. Kendall, Gal and Cipolla, "Multi-task learning using
    uncertainty to weigh losses for scene geometry and semantics", CVPR 2018 (chapter 9).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    init_log_var : float
        Starting value of every :math:`s_i` (default 0: all weights 1).
    """

    def __init__(self, n_tasks: int, init_log_var: float = 0.0):
        super().__init__()
        n = positive_int(n_tasks, "n_tasks")
        self.log_vars = torch.nn.Parameter(torch.full((n,), float(init_log_var)))

    def forward(self, losses) -> torch.Tensor:
        return uncertainty_loss(losses, self.log_vars)

    def weights(self) -> torch.Tensor:
        """Current task weights :math:`e^{-s_i} = 1/\\sigma_i^2` ``(n_tasks,)``, detached."""
        return torch.exp(-self.log_vars.detach())


def dwa_weights(losses_prev, losses_prev2, temperature: float = 2.0) -> torch.Tensor:
    """Dynamic weight average (DWA) weights from the last two epochs' mean losses.

    Liu, Johns and Davison, "End-to-end multi-task learning with attention", CVPR 2019, eq. (7):

    .. math:: r_i(t-1) = \\frac{\\mathcal{L}_i(t-1)}{\\mathcal{L}_i(t-2)}, \\qquad
              w_i(t) = \\frac{n \\exp(r_i(t-1)/T)}{\\sum_j \\exp(r_j(t-1)/T)} .

    A task whose loss fell slowly (ratio near 1) gets more weight. The weights sum to
    ``n`` and depend only on loss *ratios*, so multiplying one task's loss by a constant
    leaves them unchanged, though that task's term in the weighted sum is still rescaled
    (chapter 9). The paper uses ``T = 2`` and ``w = 1`` for the first two epochs.

    Parameters
    ----------
    losses_prev, losses_prev2 : array-like ``(n_tasks,)``
        Mean task losses of epochs ``t-1`` and ``t-2``, positive.
    temperature : float
        Softmax temperature ``T > 0``; larger is closer to equal weights.

    Returns
    -------
    Tensor ``(n_tasks,)`` summing to ``n_tasks``.
    """
    prev = _positive_vector(losses_prev, "losses_prev")
    prev2 = _positive_vector(losses_prev2, "losses_prev2")
    if prev.shape != prev2.shape:
        raise ValueError(f"losses_prev and losses_prev2 must have the same shape, got "
                         f"{tuple(prev.shape)} and {tuple(prev2.shape)}")
    temperature = positive(temperature, "temperature")
    ratio = prev / prev2
    return prev.numel() * torch.softmax(ratio / temperature, dim=0)


def gls_loss(losses) -> torch.Tensor:
    """Geometric loss strategy (GLS): the geometric mean of the task losses.

    Chennupati, Sistu, Yogamani and Rawashdeh, "MultiNet++: multi-stream feature aggregation
    and geometric loss strategy for multi-task learning", CVPR Workshops 2019:

    .. math:: \\mathcal{L}_{GLS} = \\Big(\\prod_{i=1}^n \\mathcal{L}_i\\Big)^{1/n}
              = \\exp\\Big(\\frac1n \\sum_i \\log \\mathcal{L}_i\\Big),

    computed in the log domain for stability. Its gradient is
    :math:`\\sum_i \\frac{\\mathcal{L}_{GLS}}{n\\,\\mathcal{L}_i} \\nabla \\mathcal{L}_i`
    (see :func:`gls_weights`): rescaling one loss by ``c`` rescales the whole update by
    :math:`c^{1/n}` but leaves its direction unchanged (chapter 9).

    Parameters
    ----------
    losses : tensor ``(n_tasks,)`` or sequence of scalar tensors, positive.

    Returns
    -------
    Scalar tensor.
    """
    losses = _as_loss_vector(losses)
    return torch.exp(torch.log(losses.clamp_min(LOG_EPS)).mean())


def gls_weights(losses) -> torch.Tensor:
    """Effective GLS weights :math:`\\mathcal{L}_{GLS}/(n\\,\\mathcal{L}_i)` ``(n_tasks,)``.

    The coefficients with which the gradient of :func:`gls_loss` combines the task
    gradients; detached (chapter 9).
    """
    losses = _as_loss_vector(losses).detach()
    return gls_loss(losses) / (losses.numel() * losses.clamp_min(LOG_EPS))


def rlw_weights(n_tasks: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random loss weighting (RLW): weights drawn afresh at every step.

    Lin, Ye, Xu, Shi and Zhang, "Reasonable effectiveness of random weighting: a litmus test
    for multi-task learning", TMLR 2022: :math:`w = \\mathrm{softmax}(z)` with
    :math:`z \\sim \\mathcal{N}(0, I_n)`. The weights lie on the probability simplex
    (positive, summing to 1), so the update is on average ``1/n`` of the EW update
    (chapter 9).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    generator : torch.Generator, optional
        Source of randomness; the same generator state gives the same weights.

    Returns
    -------
    Tensor ``(n_tasks,)``, positive, summing to 1.
    """
    n = positive_int(n_tasks, "n_tasks")
    torch_generator(generator)
    z = torch.randn(n, generator=generator)
    return torch.softmax(z, dim=0)


def stch_loss(losses, nadir=None, mu: float = 1.0) -> torch.Tensor:
    """Smooth Tchebycheff (STCH) scalarisation of normalised log-losses.

    Lin, Zhang, Zhang, Liu and Zhang, "Smooth Tchebycheff scalarization for multi-objective
    optimization", ICML 2024. The Tchebycheff scalarisation :math:`\\max_i f_i` is smoothed
    with a temperature :math:`\\mu`; for multi-task learning the objectives are the log
    losses normalised by a reference point ``z`` (the mean losses of the warm-up epoch):

    .. math:: f_i = \\log\\frac{\\mathcal{L}_i}{z_i}, \\qquad
              \\mathcal{L}_{STCH} = n\\,\\mu \\log \\sum_{i=1}^n \\exp(f_i/\\mu) .

    The factor ``n`` keeps the update on the scale of the warm-up objective
    :math:`\\sum_i \\log \\mathcal{L}_i`, which is used while ``z`` is not yet known
    (``nadir=None``). Both are unchanged, up to a constant, by rescaling a loss, so the
    update does not depend on the loss scales. As :math:`\\mu \\to 0` the task with the
    largest normalised loss takes all the weight (chapter 9).

    Parameters
    ----------
    losses : tensor ``(n_tasks,)`` or sequence of scalar tensors, positive.
    nadir : array-like ``(n_tasks,)`` or None
        Reference losses :math:`z_i > 0`; ``None`` during warm-up (returns ``sum(log L)``).
    mu : float
        Smoothing temperature :math:`\\mu > 0` (the authors' configuration uses 1.0).

    Returns
    -------
    Scalar tensor.
    """
    losses = _as_loss_vector(losses)
    log_losses = torch.log(losses.clamp_min(LOG_EPS))
    if nadir is None:
        return log_losses.sum()
    mu = positive(mu, "mu")
    z = _positive_vector(nadir, "nadir").to(device=losses.device, dtype=losses.dtype)
    if z.shape != losses.shape:
        raise ValueError(f"nadir must have shape {tuple(losses.shape)}, got {tuple(z.shape)}")
    f = log_losses - torch.log(z)
    return losses.numel() * mu * torch.logsumexp(f / mu, dim=0)


def stch_weights(losses, nadir=None, mu: float = 1.0) -> torch.Tensor:
    """Effective STCH weights: the coefficients of :math:`\\nabla\\mathcal{L}_i` in the
    gradient of :func:`stch_loss`, i.e. :math:`n\\,\\mathrm{softmax}(f/\\mu)_i/\\mathcal{L}_i`
    (``1/L_i`` during warm-up). Detached ``(n_tasks,)`` (chapter 9)."""
    losses = _as_loss_vector(losses).detach()
    safe = losses.clamp_min(LOG_EPS)
    if nadir is None:
        return 1.0 / safe
    mu = positive(mu, "mu")
    z = _positive_vector(nadir, "nadir").to(device=losses.device, dtype=losses.dtype)
    f = torch.log(safe) - torch.log(z)
    return losses.numel() * torch.softmax(f / mu, dim=0) / safe


def gradnorm_loss(weights: torch.Tensor, grad_norms, losses, initial_losses,
                  alpha: float = 1.5) -> torch.Tensor:
    """GradNorm's gradient-loss that the task weights descend (Chen et al., 2018, eq. 2).

    Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: gradient normalization for adaptive
    loss balancing in deep multitask networks", ICML 2018. With
    :math:`G_i = w_i \\lVert \\nabla_W \\mathcal{L}_i \\rVert` the norm of task ``i``'s weighted
    gradient at the last shared layer ``W``, the relative inverse training rate
    :math:`r_i = \\tilde{\\mathcal{L}}_i / \\mathrm{mean}_j \\tilde{\\mathcal{L}}_j` with
    :math:`\\tilde{\\mathcal{L}}_i = \\mathcal{L}_i(t)/\\mathcal{L}_i(0)`:

    .. math:: L_{grad} = \\sum_i \\big| G_i - \\bar G \\, r_i^{\\alpha} \\big| ,

    where the target :math:`\\bar G\\, r_i^{\\alpha}` is held constant. Tasks that train slowly
    (large :math:`r_i`) are pushed towards larger gradients; ``alpha`` sets how strongly.

    Parameters
    ----------
    weights : tensor ``(n_tasks,)``
        The task weights :math:`w_i` (differentiable; the result is differentiated in them).
    grad_norms : array-like ``(n_tasks,)``
        :math:`\\lVert \\nabla_W \\mathcal{L}_i \\rVert` of the unweighted losses (constants).
    losses, initial_losses : array-like ``(n_tasks,)``
        Current losses and the losses at the first step, positive (constants).
    alpha : float
        Asymmetry :math:`\\alpha \\ge 0` (the paper's default 1.5; 0 equalises the norms).

    Returns
    -------
    Scalar tensor.
    """
    if not isinstance(weights, torch.Tensor) or weights.ndim != 1:
        raise ValueError("weights must be a 1-D tensor (n_tasks,)")
    norms = _nonnegative_vector(grad_norms, "grad_norms").to(weights)
    current = _positive_vector(losses, "losses").to(weights)
    initial = _positive_vector(initial_losses, "initial_losses").to(weights)
    if not (norms.shape == current.shape == initial.shape == weights.shape):
        raise ValueError("weights, grad_norms, losses and initial_losses must all have shape (n_tasks,)")
    non_negative(alpha, "alpha")
    g = weights * norms
    rate = current / initial
    target = (g.mean() * (rate / rate.mean()) ** alpha).detach()
    return (g - target).abs().sum()


class GradNormWeights(torch.nn.Module):
    """The learned task weights of GradNorm, kept summing to ``n_tasks`` (Chen et al., 2018).

    After every optimiser step on :attr:`weights` call :meth:`renormalise`, which clips them
    to be positive and rescales them to sum to ``n`` as in the paper (chapter 9).
    """

    def __init__(self, n_tasks: int):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.ones(positive_int(n_tasks, "n_tasks")))

    def forward(self, losses) -> torch.Tensor:
        """Weighted sum :math:`\\sum_i w_i \\mathcal{L}_i` with the current weights detached."""
        losses = _as_loss_vector(losses)
        return (self.weights.detach().to(losses) * losses).sum()

    @torch.no_grad()
    def renormalise(self) -> None:
        """Clip the weights to at least 1e-6 and rescale them to sum to ``n_tasks``."""
        w = self.weights.clamp_min(1e-6)
        self.weights.copy_(w * (w.numel() / w.sum()))


# ----------------------------------------------------------------------------- helpers


def _as_loss_vector(losses) -> torch.Tensor:
    """Stack a sequence of scalar tensors (or take a 1-D tensor) into ``(n_tasks,)``."""
    if isinstance(losses, torch.Tensor):
        if losses.ndim != 1 or losses.numel() == 0:
            raise ValueError(f"losses must be a non-empty 1-D tensor (n_tasks,), got shape {tuple(losses.shape)}")
        return losses
    if not isinstance(losses, Sequence) or len(losses) == 0:
        raise TypeError("losses must be a 1-D tensor or a non-empty sequence of scalar tensors")
    items = []
    for i, loss in enumerate(losses):
        if not isinstance(loss, torch.Tensor):
            loss = torch.as_tensor(float(loss))
        if loss.numel() != 1:
            raise ValueError(f"losses[{i}] must be a scalar tensor, got shape {tuple(loss.shape)}")
        items.append(loss.reshape(()))
    return torch.stack(items)


def _vector(values, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        v = values.detach().to(torch.float64 if values.dtype == torch.float64 else torch.float32)
    else:
        try:
            v = torch.as_tensor([float(x) for x in values], dtype=torch.float32)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a 1-D array of numbers, got {type(values).__name__}") from None
    if v.ndim != 1 or v.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {tuple(v.shape)}")
    if not torch.isfinite(v).all():
        raise ValueError(f"{name} must be finite, got {v.tolist()}")
    return v


def _positive_vector(values, name: str) -> torch.Tensor:
    v = _vector(values, name)
    if (v <= 0).any():
        raise ValueError(f"{name} must be strictly positive, got {v.tolist()}")
    return v


def _nonnegative_vector(values, name: str) -> torch.Tensor:
    v = _vector(values, name)
    if (v < 0).any():
        raise ValueError(f"{name} must be non-negative, got {v.tolist()}")
    return v

