"""One small class per multi-task optimisation method, all behind one interface (chapters 9-12).

Every method of Table II of Zhang et al. (2025) is a subclass of :class:`MTLMethod` and is
used in a training loop the same way::

    method = get_method("ega", n_tasks=3, temperature=1.0)
    heads = [p for params in model.task_parameters().values() for p in params]
    for epoch in range(n_epochs):
        method.start_epoch(epoch)
        for batch in loader:
            optimizer.zero_grad()
            features = model.encode(batch["sst"])              # shared representation
            losses = list(task_losses(model.decode(features), batch).values())
            info = method.backward(losses, model.shared_parameters(), task_params=heads,
                                   shared_representation=features)
            optimizer.step()
        method.end_epoch()        # or end_epoch(mean losses of the epoch)

(``model`` a :class:`radarode_lite.models.RadarODEMTL`, ``task_losses`` from
:mod:`radarode_lite.losses`; :func:`radarode_lite.train.train` runs this loop.)

``backward`` replaces ``sum(losses).backward()``: afterwards the ``.grad`` of every shared
parameter holds the method's combined update and every task-specific parameter holds its
own task's gradient (see :meth:`MTLMethod.backward` for the exact contract).

Two families:

- **loss balancing** (``kind == "loss"``): EW, UW, GLS, DWA, STCH, RLW, GradNorm choose a
  scalarisation of the losses (:mod:`radarode_lite.mtl.weighting`, chapter 9) and run one
  ordinary backward pass of it.
- **gradient balancing** (``kind == "gradient"``): PCGrad, GradDrop, GradVac, CAGrad, MGDA,
  IMTL, Nash-MTL, MoCo, Aligned-MTL and EGA build the task-gradient matrix
  ``G: (n_tasks, n_params)`` and replace its row sum by the update ``d = f(G)`` of
  :mod:`radarode_lite.mtl.functional` (chapters 10-11).

Per-task gradients without ``n`` full backward passes. With hard parameter sharing every loss
reaches the shared parameters only through the shared representation ``z`` (the backbone's
output), so when ``shared_representation`` is passed the per-task gradients are built in two
stages: ``n`` cheap passes, one through each head, give :math:`\\partial\\mathcal{L}_i/\\partial z`
(:func:`representation_gradients`), then **one** batched reverse pass through the backbone
carries the ``n`` cotangents to the shared parameters,
``torch.autograd.grad(z, params, grad_outputs=rows, is_grads_batched=True)`` (vectorised with
``torch.func.vmap`` underneath). Without a representation the batched pass starts at the
losses themselves, ``torch.autograd.grad(stack(losses), params, grad_outputs=eye(n),
is_grads_batched=True)`` (:func:`task_gradients`). If an operation of the network has no
batching rule, the batched call raises and the code warns once and loops over the tasks
instead (same result, ``n`` passes). By default (``batched=None``) the methods take the
batched pass on a GPU and the loop on the CPU, where it is the faster for the book's networks
(``data_scripts/bench_train.py``) and gives the same gradients.

With ``gradients="representation"`` the gradient matrix is taken at the representation
instead of the shared parameters, as Aligned-MTL (Senushkin et al., 2023) and the
radarODE-MTL code allow: ``G`` then has one row per task holding the gradient with respect to
the whole representation tensor (batch included, flattened), the combined vector is formed
there and sent through the backbone with a single backward pass, so a step costs little more
than EW. It is exact for EW; for the other methods it is a cheaper surrogate of the
parameter-space method, not the same update.

The representation passed must be the only path from the shared parameters to the losses
(true for a backbone followed by heads); if it is not, do not pass it, and use
``gradients="params"``.

Where things live (this module is the registry and re-exports every name):

- :mod:`radarode_lite.mtl.interface`         :class:`MTLMethod`, the training interface, and
  the one point where training across processes plugs in (``method.reducer``, chapter 12)
- :mod:`radarode_lite.mtl.loss_methods`      UW, GLS, DWA, STCH, RLW, GradNorm (chapter 9)
- :mod:`radarode_lite.mtl.gradient_methods`  :class:`GradientMethod`, EW and the gradient
  methods (chapters 10-11)
- :mod:`radarode_lite.mtl.per_task`          :func:`task_gradients`,
  :func:`representation_gradients` and the other per-task gradient machinery
"""

from __future__ import annotations

from .gradient_methods import (EGA, EW, IMTL, MGDA, AlignedMTL, CAGrad, GradDrop, GradientMethod, GradVac, MoCo,
                               NashMTL, PCGrad)
from .interface import MTLMethod
from .loss_methods import DWA, GLS, RLW, STCH, UW, GradNorm, LossBalancingMethod
from .per_task import representation_gradients, task_gradients

__all__ = [
    "MTLMethod",
    "LossBalancingMethod",
    "GradientMethod",
    "EW",
    "UW",
    "GLS",
    "DWA",
    "STCH",
    "RLW",
    "GradNorm",
    "PCGrad",
    "GradDrop",
    "GradVac",
    "CAGrad",
    "MGDA",
    "IMTL",
    "NashMTL",
    "MoCo",
    "AlignedMTL",
    "EGA",
    "METHODS",
    "get_method",
    "task_gradients",
    "representation_gradients",
]


# ============================================================================ registry


#: Registry name -> class, in the order of Table II.
METHODS: dict[str, type[MTLMethod]] = {
    cls.name: cls
    for cls in (EW, UW, GLS, DWA, STCH, RLW, GradNorm, PCGrad, GradDrop, GradVac, CAGrad,
                MGDA, IMTL, NashMTL, MoCo, AlignedMTL, EGA)
}


def get_method(name: str, n_tasks: int, **kwargs) -> MTLMethod:
    """Create the method registered as ``name`` (see :data:`METHODS`) for ``n_tasks`` tasks.

    ``name`` is case-insensitive and may use ``-`` for ``_`` (``"Aligned-MTL"``); the keyword
    arguments are the class's hyper-parameters, e.g.
    ``get_method("ega", n_tasks=3, temperature=1.0, gradients="representation")``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    aliases = {"imtl_g": "imtl", "nashmtl": "nash_mtl", "alignedmtl": "aligned_mtl", "nash": "nash_mtl"}
    key = aliases.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown MTL method {name!r}; valid names: {', '.join(METHODS)}")
    return METHODS[key](n_tasks, **kwargs)
