"""Multi-task optimisation: loss balancing and gradient methods, EGA among them (chapters 9-11).

- :mod:`radarode_lite.mtl.weighting`   weights from the losses alone (EW, UW, DWA, GLS, RLW,
  STCH, GradNorm), chapter 9
- :mod:`radarode_lite.mtl.functional`  pure functions of the task-gradient matrix ``G`` that
  return the update replacing the summed gradient (PCGrad ... Aligned-MTL, EGA), chapters 10-11
- :mod:`radarode_lite.mtl.methods`     one class per method behind one training interface,
  :func:`get_method` to pick one by name, chapters 9-12
- :mod:`radarode_lite.mtl.toy`         the two-task toy problem of CAGrad, Nash-MTL and
  Aligned-MTL, chapters 10-11

Importing this package imports ``weighting`` and ``methods`` (torch only); ``functional`` is
imported when a gradient method first needs it, or explicitly
(``from radarode_lite.mtl import functional``), like ``toy``.
"""

from .methods import (
    EGA,
    EW,
    GLS,
    DWA,
    METHODS,
    RLW,
    STCH,
    UW,
    AlignedMTL,
    CAGrad,
    GradDrop,
    GradientMethod,
    GradNorm,
    GradVac,
    IMTL,
    LossBalancingMethod,
    MGDA,
    MoCo,
    MTLMethod,
    NashMTL,
    PCGrad,
    get_method,
    task_gradients,
)

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
]
