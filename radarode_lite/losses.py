r"""The three task losses of radarODE-MTL (chapters 6-8).

- ECG shape (chapter 6): mean squared error between the predicted and the true single-cycle
  ECG, both on the min-max normalised scale [0, 1], 200 samples:
  :math:`\mathcal{L}_{shape} = \frac{1}{200}\sum_n (\hat s_n - s_n)^2`, averaged over the batch.
- Cycle length (chapter 8): cross-entropy between the predicted distribution over the 260
  cycle lengths (samples at 200 Hz) and a *soft* target, a Gaussian bump around the true
  length (:func:`soft_targets`), :math:`\mathcal{L}_{ppi} = -\sum_k q_k \log \mathrm{softmax}(\hat\ell)_k`.
  A neighbouring class is then a smaller mistake than a distant one.
- ECG anchors (chapter 7): mean squared error between the predicted and the true 800-sample
  R-peak heat map.

:func:`task_losses` computes all three from the network's output dict and a batch of the
data module (:class:`radarode_lite.data.SegmentDataset` items stacked by a ``DataLoader``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from radarode_lite._checks import positive_int
from radarode_lite.conventions import ANCHOR_SAMPLES, SHAPE_SAMPLES, TASKS
from radarode_lite.conventions import PPI_CLASSES as N_CYCLE_CLASSES

__all__ = ["PPI_SIGMA", "soft_targets", "shape_loss", "anchor_loss", "cycle_length_loss", "task_losses"]

#: Standard deviation (in classes, i.e. samples at 200 Hz: 2 samples = 10 ms) of the Gaussian
#: soft target for the cycle length. A cycle length is read off R peaks sampled at 200 Hz, so
#: the label itself is uncertain by a sample or two; sigma = 0 gives the hard one-hot target.
PPI_SIGMA = 2.0


def soft_targets(ppi: torch.Tensor, n_classes: int = N_CYCLE_CLASSES, sigma: float = PPI_SIGMA) -> torch.Tensor:
    r"""Gaussian-smoothed one-hot targets for the cycle length (chapter 8).

    :math:`q_k \propto \exp(-(k - \mathrm{ppi})^2 / (2\sigma^2))` for ``k = 0 .. n_classes-1``,
    normalised to sum to 1 over the classes (so the bump is cut, not wrapped, at the edges);
    ``sigma = 0`` gives the one-hot vector.

    Parameters
    ----------
    ppi : torch.Tensor, integer, shape ``(B,)``
        True cycle lengths (class indices = samples at 200 Hz), in ``[0, n_classes)``.
    n_classes : int
    sigma : float >= 0
        Width in classes (samples).

    Returns
    -------
    torch.Tensor, float32, shape ``(B, n_classes)``, rows summing to 1.
    """
    n_classes = positive_int(n_classes, "n_classes")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0.0 <= sigma < float("inf"):
        raise ValueError(f"sigma must be a finite number >= 0 (classes), got {sigma!r}")
    _check_ppi(ppi, n_classes)
    classes = torch.arange(n_classes, device=ppi.device)
    if sigma == 0:
        return torch.zeros(ppi.shape[0], n_classes, device=ppi.device).scatter_(1, ppi[:, None], 1.0)
    distance = (classes[None, :] - ppi[:, None]).float()
    weights = torch.exp(-0.5 * (distance / sigma) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def shape_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between predicted and true normalised single-cycle ECG, both ``(B, 200)`` (chapter 6)."""
    _check_signal(pred, "pred['shape']", SHAPE_SAMPLES)
    _check_signal(target, "batch['shape']", SHAPE_SAMPLES)
    _check_same_batch(pred, target, "shape")
    return F.mse_loss(pred, target.to(pred.dtype))


def anchor_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between predicted and true R-peak heat maps, both ``(B, 800)`` (chapter 7)."""
    _check_signal(pred, "pred['anchor']", ANCHOR_SAMPLES)
    _check_signal(target, "batch['anchor']", ANCHOR_SAMPLES)
    _check_same_batch(pred, target, "anchor")
    return F.mse_loss(pred, target.to(pred.dtype))


def cycle_length_loss(logits: torch.Tensor, ppi: torch.Tensor, sigma: float = PPI_SIGMA) -> torch.Tensor:
    """Cross-entropy of logits ``(B, 260)`` against :func:`soft_targets` of ``ppi (B,)`` (chapter 8).

    Its minimum over the logits is reached at ``softmax(logits) = soft_targets(ppi)`` and equals
    the targets' entropy (not zero, unless ``sigma = 0``).
    """
    _check_signal(logits, "pred['ppi']", N_CYCLE_CLASSES)
    _check_ppi(ppi, N_CYCLE_CLASSES, name="batch['ppi']")
    _check_same_batch(logits, ppi, "ppi")
    target = soft_targets(ppi.to(logits.device), N_CYCLE_CLASSES, sigma).to(logits.dtype)
    return F.cross_entropy(logits, target)


def task_losses(pred: dict, batch: dict, sigma: float = PPI_SIGMA) -> dict[str, torch.Tensor]:
    """The three task losses as scalar tensors, ``{"shape", "anchor", "ppi"}`` (chapters 6-8).

    Parameters
    ----------
    pred : dict
        Network outputs: ``"shape" (B, 200)``, ``"anchor" (B, 800)``, ``"ppi" (B, 260)`` logits.
    batch : dict
        Targets: ``"shape"`` float ``(B, 200)``, ``"anchor"`` float ``(B, 800)``, ``"ppi"``
        int64 ``(B,)`` cycle length in samples at 200 Hz; other keys (``"sst"``) are ignored.
    sigma : float
        Width of the cycle-length soft target (:data:`PPI_SIGMA`).
    """
    for name, d in (("pred", pred), ("batch", batch)):
        if not isinstance(d, dict):
            raise TypeError(f"{name} must be a dict with keys {TASKS}, got {type(d).__name__}")
        missing = [task for task in TASKS if task not in d]
        if missing:
            raise ValueError(f"{name} is missing keys {missing}; expected {TASKS}")
    return {
        "shape": shape_loss(pred["shape"], batch["shape"]),
        "anchor": anchor_loss(pred["anchor"], batch["anchor"]),
        "ppi": cycle_length_loss(pred["ppi"], batch["ppi"], sigma=sigma),
    }


# --------------------------------------------------------------------------- helpers


def _check_signal(x, name: str, length: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, {length}), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != length or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (B, {length}), got {tuple(x.shape)}")


def _check_ppi(ppi, n_classes: int, name: str = "ppi") -> None:
    if not isinstance(ppi, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of int64 class indices, got {type(ppi).__name__}")
    if ppi.dtype != torch.int64:
        raise TypeError(f"{name} must have dtype torch.int64 (class indices), got {ppi.dtype}")
    if ppi.ndim != 1 or ppi.shape[0] < 1:
        raise ValueError(f"{name} must have shape (B,), got {tuple(ppi.shape)}")
    if bool((ppi < 0).any()) or bool((ppi >= n_classes).any()):
        raise ValueError(f"{name} must lie in [0, {n_classes}), got values in [{int(ppi.min())}, {int(ppi.max())}]")


def _check_same_batch(pred: torch.Tensor, target: torch.Tensor, task: str) -> None:
    if pred.shape[0] != target.shape[0]:
        raise ValueError(
            f"pred[{task!r}] and batch[{task!r}] must have the same batch size, got {pred.shape[0]} and {target.shape[0]}"
        )
