"""Per-task gradients without ``n`` full backward passes, and how an update reaches ``.grad``
(chapters 10 and 12).

A gradient method needs the matrix of task gradients ``G: (n_tasks, n_params)``. With hard
parameter sharing every loss reaches the shared parameters only through the shared
representation ``z`` (the backbone's output), so when the representation is known the
per-task gradients are built in two stages: ``n`` cheap passes, one through each head, give
:math:`\\partial\\mathcal{L}_i/\\partial z` (:func:`representation_gradients`), then **one**
batched reverse pass through the backbone carries the ``n`` cotangents to the shared
parameters (:func:`batched_vjp`: ``torch.autograd.grad(z, params, grad_outputs=rows,
is_grads_batched=True)``, vectorised with ``torch.func.vmap`` underneath). Without a
representation the batched pass starts at the losses themselves (:func:`task_gradients`). If
an operation of the network has no batching rule, the batched call raises and the code warns
once and loops over the tasks instead (same result, ``n`` passes). The methods take the
batched pass on a GPU and the loop on the CPU unless told otherwise (:func:`check_batched`):
on the CPU the loop is faster for the book's networks (``data_scripts/bench_train.py``) and
gives the same gradients.

:func:`accumulate`, :func:`backward_rest`, :func:`unflatten` and :func:`span_coefficients`
write a method's update into the parameters' ``.grad`` and report its task weights. Used by
:mod:`radarode_lite.mtl.gradient_methods` and by GradNorm
(:mod:`radarode_lite.mtl.loss_methods`); chapter 12 times the alternatives.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["task_gradients", "representation_gradients", "check_batched", "use_batched"]

_BATCHING_WARNED = False


def check_batched(batched) -> bool | None:
    """The ``batched`` option of a method: True, False or None, else a TypeError naming it.

    True takes one batched reverse pass for the ``n`` tasks, False a loop of ``n`` passes, and
    None (the methods' default) decides by device: batched on a GPU, the loop on the CPU.
    """
    if batched is None:
        return None
    if not isinstance(batched, (bool, np.bool_)):
        raise TypeError(f"batched must be True, False or None (batched on a GPU, a loop on the CPU), "
                        f"got {batched!r}")  # fmt: skip
    return bool(batched)


def use_batched(batched: bool | None, like: torch.Tensor) -> bool:
    """Whether to take the batched pass: ``batched`` itself, or for None whether ``like`` is off the CPU."""
    return like.device.type != "cpu" if batched is None else bool(batched)


def _warn_unbatched(exc: Exception, stacklevel: int) -> None:
    """Warn, once per process, that the batched pass failed and the tasks are looped over."""
    global _BATCHING_WARNED
    if not _BATCHING_WARNED:
        warnings.warn(f"batched per-task gradients failed ({type(exc).__name__}: {str(exc)[:200]}); "
                      "falling back to one backward pass per task", RuntimeWarning, stacklevel=stacklevel)
        _BATCHING_WARNED = True


def task_gradients(losses: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor],
                   batched: bool = True, retain_graph: bool = True) -> list[torch.Tensor]:
    """Per-task gradients of ``n`` scalar losses with respect to each tensor of ``inputs``.

    One reverse pass with a batch of ``n`` one-hot output gradients,
    ``torch.autograd.grad(stack(losses), inputs, grad_outputs=eye(n), is_grads_batched=True)``,
    which vectorises the ``n`` backward passes (``torch.func.vmap`` underneath). If an
    operation of the graph has no batching rule the call raises, and this function warns once
    and falls back to a loop of ``n`` ordinary ``autograd.grad`` calls (same result, ``n``
    passes). An input that no loss depends on gets zeros.

    Parameters
    ----------
    losses : sequence of ``n`` scalar tensors
    inputs : sequence of tensors requiring gradients (parameters or an intermediate tensor)
    batched : bool or None
        Try the batched pass (default) or loop directly; None: batched off the CPU only.
    retain_graph : bool
        Keep the graph for later passes (default True).

    Returns
    -------
    list with one tensor ``(n, *p.shape)`` per input ``p``.
    """
    loss_list = list(losses)
    inputs = list(inputs)
    n = len(loss_list)
    grads = None
    if n > 1 and use_batched(batched, loss_list[0]):
        stacked = torch.stack([l.reshape(()) for l in loss_list])
        eye = torch.eye(n, dtype=stacked.dtype, device=stacked.device)
        try:
            grads = torch.autograd.grad(stacked, inputs, grad_outputs=eye, is_grads_batched=True,
                                        retain_graph=True, allow_unused=True, materialize_grads=True)
        except (RuntimeError, NotImplementedError) as exc:  # an op without a batching rule
            _warn_unbatched(exc, stacklevel=3)
            grads = None
        if grads is not None:
            return [g.detach() for g in grads]
    rows = []
    for i, loss in enumerate(loss_list):
        keep = retain_graph or i < n - 1
        rows.append(torch.autograd.grad(loss, inputs, retain_graph=keep, allow_unused=True,
                                        materialize_grads=True))
    return [torch.stack([row[j] for row in rows]).detach() for j in range(len(inputs))]


def representation_gradients(losses: Sequence[torch.Tensor], representation: torch.Tensor,
                             task_params: Sequence[torch.Tensor] = ()):
    """Per-task gradients at the shared representation, plus the heads' own gradients.

    One ordinary ``autograd.grad`` per task with respect to ``[representation, *task_params]``:
    with hard parameter sharing each loss reaches only its own head, so the ``n`` passes
    together traverse every head once (a batched pass would traverse all of them ``n``
    times) and never enter the backbone.

    Returns
    -------
    rows : tensor ``(n, *representation.shape)``
        :math:`\\partial \\mathcal{L}_i / \\partial z` for the representation :math:`z`.
    head_grads : list of tensors (or ``None`` where no loss depends on the parameter)
        :math:`\\sum_i \\partial \\mathcal{L}_i / \\partial \\phi` for each task parameter.
    """
    inputs = [representation, *task_params]
    rows = []
    head = [None] * len(task_params)
    for loss in losses:
        grads = torch.autograd.grad(loss, inputs, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(representation) if grads[0] is None else grads[0])
        for j, g in enumerate(grads[1:]):
            if g is not None:
                head[j] = g if head[j] is None else head[j] + g
    return torch.stack(rows).detach(), head


def batched_vjp(output: torch.Tensor, inputs: Sequence[torch.Tensor], cotangents: torch.Tensor,
                 batched: bool | None) -> list[torch.Tensor]:
    """``n`` vector-Jacobian products of ``output`` w.r.t. ``inputs`` for ``cotangents (n, *output.shape)``,
    in one batched reverse pass (falling back to a loop, as :func:`task_gradients`) or, with
    ``batched`` False (None on the CPU), in a loop."""
    inputs = list(inputs)
    n = cotangents.shape[0]
    cotangents = cotangents.to(output.dtype)
    if n > 1 and use_batched(batched, output):
        try:
            grads = torch.autograd.grad(output, inputs, grad_outputs=cotangents, is_grads_batched=True,
                                        retain_graph=True, allow_unused=True, materialize_grads=True)
            return [g.detach() for g in grads]
        except (RuntimeError, NotImplementedError) as exc:
            _warn_unbatched(exc, stacklevel=4)
    rows = [torch.autograd.grad(output, inputs, c, retain_graph=True, allow_unused=True, materialize_grads=True)
            for c in cotangents]
    return [torch.stack([row[j] for row in rows]).detach() for j in range(len(inputs))]


def unflatten(d: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    sizes = [p.numel() for p in params]
    return [chunk.reshape(p.shape) for chunk, p in zip(torch.split(d, sizes), params)]


def accumulate(params, grads) -> None:
    """Add ``grads`` to ``.grad`` like ``Tensor.backward`` (``None`` entries are skipped)."""
    for p, g in zip(params, grads):
        if g is None:
            continue
        g = g.detach().to(dtype=p.dtype, device=p.device)
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.add_(g)


def backward_rest(losses, shared, shared_update) -> None:
    """Give every parameter outside ``shared`` its summed-loss gradient and ``shared`` the update.

    Used when the task-specific parameters are not known: one ordinary backward pass of the
    summed loss reaches them, and the shared parameters' ``.grad`` are restored to what they
    held before plus ``shared_update``.
    """
    before = [None if p.grad is None else p.grad.clone() for p in shared]
    torch.stack(losses).sum().backward()
    for p, old, upd in zip(shared, before, shared_update):
        new = torch.zeros_like(p) if upd is None else upd.detach().to(dtype=p.dtype, device=p.device).clone()
        if old is not None:
            new = new + old
        p.grad = new


def span_coefficients(G: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Least-squares ``w`` with ``G^T w ≈ d`` (exact when ``d`` lies in the row span of ``G``)."""
    G = G.double()
    gram = G @ G.T
    return torch.linalg.pinv(gram, hermitian=True) @ (G @ d.double())
