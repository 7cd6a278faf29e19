"""Multi-task optimisation: loss balancing and gradient methods, EGA among them (chapters 9-12).

- :mod:`radarode_lite.mtl.weighting`         weights from the losses alone (EW, UW, DWA, GLS,
  RLW, STCH, GradNorm), chapter 9
- :mod:`radarode_lite.mtl.functional`        pure functions of the task-gradient matrix ``G``
  that return the update replacing the summed gradient (PCGrad ... Aligned-MTL, EGA), chapters
  10-11; every method is ``functional.<name>``
- :mod:`radarode_lite.mtl.weight_solvers`    the functions among them that solve a small
  problem over task weights (CAGrad, MGDA, IMTL-G, Nash-MTL, MoCo), chapter 10
- :mod:`radarode_lite.mtl._linalg`           their shared numerics: Gram matrices in column
  blocks, minimum-norm solvers, simplex projection, KKT faces, chapters 10-11
- :mod:`radarode_lite.mtl.methods`           one class per method behind one training
  interface, :func:`get_method` to pick one by name, chapters 9-12; it re-exports the classes of
- :mod:`radarode_lite.mtl.interface`         :class:`MTLMethod` and the one point where training
  across processes plugs in (``method.reducer``, :attr:`MTLMethod.reduction`), chapters 9-12
- :mod:`radarode_lite.mtl.loss_methods`      the loss-balancing classes, chapter 9
- :mod:`radarode_lite.mtl.gradient_methods`  :class:`GradientMethod` and the gradient classes,
  chapters 10-11
- :mod:`radarode_lite.mtl.per_task`          per-task gradients in one batched pass, chapters
  10 and 12
- :mod:`radarode_lite.mtl.toy`               the two-task toy problem of CAGrad, Nash-MTL and
  Aligned-MTL, chapters 10-11

Importing this package imports ``weighting`` and ``methods`` with the modules behind it (torch
only); ``functional`` is imported when a gradient method first needs it, or explicitly
(``from radarode_lite.mtl import functional``), like ``toy``.
"""

from . import methods as _methods
from .methods import *  # noqa: F401,F403 (exactly the names in methods.__all__)

__all__ = list(_methods.__all__)
