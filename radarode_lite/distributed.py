r"""Data-parallel training across processes for any multi-task method (chapter 12, appendix *Scaling up*).

Under ``torchrun --nproc_per_node N`` every process (rank) holds a full copy of the network
and takes a slice of every mini-batch. Plain DistributedDataParallel averages the gradient of
*one* summed loss across ranks during its backward pass. A gradient method of
:mod:`radarode_lite.mtl` must not see that sum: it needs the matrix of per-task gradients
:math:`G` of the **whole** batch before it combines the rows (Aligned-MTL and EGA take its
eigen-decomposition; PCGrad projects rows on each other). So here the reduction is done by
hand, at the point where the method needs it, with the collectives of ``torch.distributed``
(gloo on CPU, nccl on GPU):

1. Each rank computes its task losses :math:`\mathcal L_{r,i}` on its :math:`b_r` segments of
   the global batch of :math:`B`. The loss of the whole batch is the weighted sum
   :math:`\mathcal L_i = \sum_r (b_r/B)\,\mathcal L_{r,i}`; :meth:`GradientReducer.global_losses`
   all-reduces the values and returns, on every rank, tensors whose *value* is
   :math:`\mathcal L_i` and whose *gradient* is :math:`(b_r/B)\nabla\mathcal L_{r,i}`. Loss
   weights that depend on the losses (UW, DWA, STCH, EGA's loss buffers) are thus the same on
   every rank and equal to a single process's.
2. Gradient methods with ``gradients="params"``: each rank's :math:`G_r` (rows: tasks) is
   all-reduced, :math:`G = \sum_r G_r`, before the method combines it, so every rank computes
   the same update :math:`d = f(G)`. With ``gradients="representation"`` the rows are gradients
   with respect to each rank's own slice of the representation; they are *gathered* (columns of
   all ranks side by side, the batch order of a single process), combined, and each rank sends
   its slice of :math:`d` through its backbone; those parameter gradients are then summed.
3. Loss-balancing methods (one backward pass of a scalarisation) and the task-specific heads:
   the parameter gradients are summed across ranks, as DistributedDataParallel would.

Every rank then holds the gradient a single process would have computed on the whole batch,
and takes the same optimiser step. Exact up to float rounding, with one caveat: batch
normalisation computes its statistics on each rank's slice, as it does under
DistributedDataParallel without ``SyncBatchNorm``; build the network with ``norm="group"``
(:class:`radarode_lite.models.RadarODEMTL`) where ranks must agree exactly with one process.
GradNorm (which needs per-task gradient norms of a layer inside the loss-balancing step) is not
supported across processes.

How a method uses it: :attr:`radarode_lite.mtl.interface.MTLMethod.reduction` is the one
point where the reduction plugs in. The training loop sets ``method.reducer`` to a
:class:`GradientReducer`; otherwise the method's reduction is a
:class:`radarode_lite.mtl.interface.LocalReduction`, whose methods (``sum``, ``sum_list``,
``gather_columns``, ``local_columns``, ``all_reduce_grads``) are those of this class with every
collective the identity. The methods call them unconditionally, at the points 1-3 above.

This module imports only torch and the package's input checks; a single process never needs it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from radarode_lite._checks import integer, positive_int

__all__ = ["GradientReducer", "init_from_env", "is_distributed", "shard_indices"]


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init_from_env(device: str | torch.device = "cpu") -> bool:
    """Initialise the default process group from torchrun's environment (``WORLD_SIZE`` > 1).

    Uses gloo for a CPU ``device`` and nccl for CUDA. Returns True if a group of more than
    one process is now active, False when the program was started as a single process.
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_world_size() > 1


def shard_indices(indices: Sequence[int] | torch.Tensor, rank: int, world_size: int) -> list[int]:
    """This rank's contiguous slice of a global batch (sizes differ by at most one).

    ``shard_indices(range(10), r, 3)`` gives ``[0..3]``, ``[4..6]``, ``[7..9]`` for ranks 0, 1, 2, so
    concatenating the slices of ranks 0, 1, ... gives the global batch in its order.
    """
    world_size = positive_int(world_size, "world_size")
    rank = integer(rank, "rank", low=0, high=world_size - 1)
    items = [int(i) for i in indices]
    base, extra = divmod(len(items), world_size)
    start = rank * base + min(rank, extra)
    return items[start:start + base + (1 if rank < extra else 0)]


class GradientReducer:
    """The collectives a multi-task step needs across ranks (see the module docstring).

    Set as ``method.reducer`` of a :class:`radarode_lite.mtl.MTLMethod`, it becomes the
    method's :attr:`~radarode_lite.mtl.interface.MTLMethod.reduction`.

    Parameters
    ----------
    group : a ``torch.distributed`` process group, or None for the default group.
    """

    def __init__(self, group=None):
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError("GradientReducer needs an initialised torch.distributed process group")
        self._dist = dist
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        self._columns = None

    def __repr__(self) -> str:
        return f"GradientReducer(rank={self.rank}, world_size={self.world_size})"

    # ------------------------------------------------------------------ building blocks

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sum over ranks of ``tensor`` (a new tensor; the input is left unchanged)."""
        out = tensor.detach().clone().contiguous()
        self._dist.all_reduce(out, op=self._dist.ReduceOp.SUM, group=self.group)
        return out

    def sum_list(self, tensors: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Sum over ranks of several tensors with one collective (``None`` counts as zeros shaped like ``like``)."""
        parts = [torch.zeros_like(ref) if t is None else t.detach() for t, ref in zip(tensors, like)]
        if not parts:
            return []
        flat = self.sum(torch.cat([p.reshape(-1).to(parts[0].dtype) for p in parts]))
        return [chunk.reshape(p.shape).to(p.dtype) for chunk, p in zip(torch.split(flat, [p.numel() for p in parts]), parts)]

    def gather_columns(self, G: torch.Tensor) -> torch.Tensor:
        """All ranks' ``G_r: (n, D_r)`` side by side, ``(n, sum D_r)`` in rank order; remembers this rank's columns."""
        n, d_local = G.shape
        sizes = [torch.zeros((), dtype=torch.int64, device=G.device) for _ in range(self.world_size)]
        self._dist.all_gather(sizes, torch.tensor(d_local, dtype=torch.int64, device=G.device), group=self.group)
        sizes = [int(s) for s in sizes]
        width = max(sizes)
        padded = torch.zeros(n, width, dtype=G.dtype, device=G.device)
        padded[:, :d_local] = G.detach()
        chunks = [torch.empty_like(padded) for _ in range(self.world_size)]
        self._dist.all_gather(chunks, padded, group=self.group)
        start = sum(sizes[: self.rank])
        self._columns = (start, start + d_local)
        return torch.cat([c[:, :s] for c, s in zip(chunks, sizes)], dim=1)

    def local_columns(self, d: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a combined vector over the gathered columns."""
        if self._columns is None:
            raise RuntimeError("local_columns() needs a preceding gather_columns()")
        start, stop = self._columns
        return d[start:stop]

    # ------------------------------------------------------------------ the training step

    def global_losses(self, losses: Sequence[torch.Tensor], n_local: int, n_global: int) -> list[torch.Tensor]:
        """Losses with the whole batch's value and this rank's share of its gradient (step 1 above)."""
        if n_global < 1 or not 0 <= n_local <= n_global:
            raise ValueError(f"need 0 <= n_local <= n_global and n_global >= 1, got {n_local}, {n_global}")
        share = n_local / n_global
        local = [l * share for l in losses]
        totals = self.sum(torch.stack([l.detach().reshape(()) for l in local]).double())
        return [l + (t.to(l.dtype) - l.detach()) for l, t in zip(local, totals)]

    def all_reduce_grads(self, params: Sequence[torch.Tensor]) -> None:
        """Replace every ``.grad`` of ``params`` by its sum over ranks (missing ones count as zeros)."""
        params = [p for p in params if p.requires_grad]
        summed = self.sum_list([p.grad for p in params], params)
        for p, g in zip(params, summed):
            p.grad = g

    def broadcast_module(self, module: torch.nn.Module, src: int = 0) -> None:
        """Copy the parameters and buffers of rank ``src`` to every rank."""
        with torch.no_grad():
            for tensor in list(module.parameters()) + list(module.buffers()):
                self._dist.broadcast(tensor.data, src=src, group=self.group)
