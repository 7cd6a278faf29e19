"""The loss-balancing methods: one backward pass of a scalarisation of the losses (chapter 9).

EW's plain sum aside (:class:`radarode_lite.mtl.gradient_methods.EW`), each class wraps the
weights of :mod:`radarode_lite.mtl.weighting` behind the interface of
:class:`radarode_lite.mtl.interface.MTLMethod`: UW, GLS, DWA, STCH, RLW and GradNorm. Import
them from :mod:`radarode_lite.mtl` (or :mod:`radarode_lite.mtl.methods`).
"""

from __future__ import annotations

import torch

from radarode_lite._checks import choice, non_negative, non_negative_int, positive, real_number

from . import weighting as W
from .interface import GRADIENT_TARGETS, MTLMethod, check_representation, make_generator
from .per_task import batched_vjp, check_batched, representation_gradients, task_gradients

__all__ = ["LossBalancingMethod", "UW", "GLS", "DWA", "STCH", "RLW", "GradNorm"]


class LossBalancingMethod(MTLMethod):
    """A method that backpropagates one scalarisation of the losses (chapter 9).

    Subclasses implement ``_objective(losses) -> (total, weights)`` where ``losses`` is the
    stacked ``(n_tasks,)`` loss vector and ``weights`` the effective coefficients of the task
    gradients. ``backward`` runs ``total.backward()``; the shared and task-specific
    parameters then hold the gradient of the scalarisation.
    """

    kind = "loss"

    def _backward(self, losses, shared, task, representation) -> dict:
        total, weights = self._objective(torch.stack(losses))
        self._backward_scalar(total, shared, task)
        return {"weights": weights.detach().float().cpu()}

    def _objective(self, losses: torch.Tensor):
        raise NotImplementedError


class UW(LossBalancingMethod):
    """Uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018), chapter 9.

    Minimises :math:`\\sum_i e^{-s_i}\\mathcal{L}_i + s_i` jointly in the network and the
    log-variances :math:`s_i = \\log\\sigma_i^2` (:func:`weighting.uncertainty_loss`). The
    :math:`s_i` are updated inside :meth:`backward` by an internal Adam optimiser, so the
    training loop needs no change; at their optimum :math:`\\sigma_i^2 = \\mathcal{L}_i`.

    Parameters
    ----------
    n_tasks : int
    lr : float
        Adam learning rate of the log-variances (default 0.01).
    init_log_var : float
        Initial :math:`s_i` (default 0: the first step equals EW).
    """

    name = "uw"

    def __init__(self, n_tasks: int, lr: float = 0.01, init_log_var: float = 0.0):
        super().__init__(n_tasks)
        self.lr = positive(lr, "lr")
        self.init_log_var = real_number(init_log_var, "init_log_var")
        self.module = W.UncertaintyWeights(self.n_tasks, self.init_log_var)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=self.lr)

    def _objective(self, losses):
        self.module.to(device=losses.device)
        return self.module(losses), self.module.weights()

    def _backward(self, losses, shared, task, representation) -> dict:
        self.optimizer.zero_grad(set_to_none=True)
        info = super()._backward(losses, shared, task, representation)
        self.optimizer.step()
        info["log_vars"] = self.module.log_vars.detach().float().cpu().clone()
        return info

    def hyperparameters(self):
        return {"lr": self.lr, "init_log_var": self.init_log_var}

    def _extra_state(self):
        return {"module": self.module.state_dict(), "optimizer": self.optimizer.state_dict()}

    def _load_extra_state(self, state):
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])


class GLS(LossBalancingMethod):
    """Geometric loss strategy (Chennupati et al., CVPR-W 2019), chapter 9.

    Backpropagates :math:`(\\prod_i \\mathcal{L}_i)^{1/n}` (:func:`weighting.gls_loss`). No
    hyper-parameters. With one task it is the task's loss itself.
    """

    name = "gls"

    def _objective(self, losses):
        return W.gls_loss(losses), W.gls_weights(losses)


class DWA(LossBalancingMethod):
    """Dynamic weight average (Liu, Johns and Davison, CVPR 2019), chapter 9.

    The weights of epoch ``t`` come from the mean losses of epochs ``t-1`` and ``t-2``
    (:func:`weighting.dwa_weights`), read from :attr:`epoch_losses`; they are 1 until two
    epochs have been recorded with :meth:`end_epoch`.

    Parameters
    ----------
    n_tasks : int
    temperature : float
        Softmax temperature ``T`` (default 2.0, as in the paper).
    """

    name = "dwa"

    def __init__(self, n_tasks: int, temperature: float = 2.0):
        super().__init__(n_tasks)
        self.temperature = positive(temperature, "temperature")
        self.weights = torch.ones(self.n_tasks)

    def _refresh(self):
        t = self.epoch
        if t - 1 in self.epoch_losses and t - 2 in self.epoch_losses:
            self.weights = W.dwa_weights(self.epoch_losses[t - 1], self.epoch_losses[t - 2], self.temperature)
        else:
            self.weights = torch.ones(self.n_tasks)

    def _objective(self, losses):
        w = self.weights.to(losses)
        return (w * losses).sum(), w

    def hyperparameters(self):
        return {"temperature": self.temperature}


class STCH(LossBalancingMethod):
    """Smooth Tchebycheff scalarisation (Lin et al., ICML 2024), chapter 9.

    Until the end of epoch ``warmup_epoch`` it minimises :math:`\\sum_i \\log\\mathcal{L}_i`;
    the mean losses of that epoch become the reference point ``z`` and from the next epoch
    on it minimises :math:`n\\mu\\log\\sum_i\\exp(\\log(\\mathcal{L}_i/z_i)/\\mu)`
    (:func:`weighting.stch_loss`). Both are invariant to the scale of each loss.

    Parameters
    ----------
    n_tasks : int
    mu : float
        Smoothing temperature (default 1.0, as in the radarODE-MTL configuration).
    warmup_epoch : int
        Epoch (0-based) whose mean losses define ``z`` (default 4, as in that configuration).
    """

    name = "stch"

    def __init__(self, n_tasks: int, mu: float = 1.0, warmup_epoch: int = 4):
        super().__init__(n_tasks)
        self.mu = positive(mu, "mu")
        self.warmup_epoch = non_negative_int(warmup_epoch, "warmup_epoch")
        self.nadir = None

    def _on_epoch_losses(self, epoch):
        if epoch == self.warmup_epoch:
            self.nadir = torch.tensor(self.epoch_losses[epoch])

    def _refresh(self):
        if self.warmup_epoch in self.epoch_losses and self.epoch > self.warmup_epoch:
            self.nadir = torch.tensor(self.epoch_losses[self.warmup_epoch])
        else:
            self.nadir = None

    def _objective(self, losses):
        return W.stch_loss(losses, self.nadir, self.mu), W.stch_weights(losses, self.nadir, self.mu)

    def hyperparameters(self):
        return {"mu": self.mu, "warmup_epoch": self.warmup_epoch}


class RLW(LossBalancingMethod):
    """Random loss weighting (Lin et al., TMLR 2022), chapter 9.

    Draws :math:`w = \\mathrm{softmax}(z)`, :math:`z\\sim\\mathcal N(0, I)`, at every step from
    its own generator (:func:`weighting.rlw_weights`); the weights sum to 1.

    Parameters
    ----------
    n_tasks : int
    seed : int
        Seed of the method's ``torch.Generator`` (default 0); its state is in :meth:`state_dict`.
    generator : torch.Generator, optional
        Use this generator instead of a seeded one.
    """

    name = "rlw"

    def __init__(self, n_tasks: int, seed: int = 0, generator: torch.Generator | None = None):
        super().__init__(n_tasks)
        self.seed = seed
        self.generator = make_generator(seed, generator)

    def _objective(self, losses):
        w = W.rlw_weights(self.n_tasks, self.generator).to(losses)
        return (w * losses).sum(), w

    def hyperparameters(self):
        return {"seed": self.seed}

    def _extra_state(self):
        return {"generator": self.generator.get_state()}

    def _load_extra_state(self, state):
        self.generator.set_state(state["generator"])


class GradNorm(LossBalancingMethod):
    """GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, ICML 2018), chapter 9.

    The network is updated with :math:`\\sum_i w_i\\mathcal{L}_i`; the weights :math:`w_i`
    descend :func:`weighting.gradnorm_loss` (gradient norms of the last shared layer pulled
    towards a common value scaled by each task's relative training rate to the power
    ``alpha``) with an internal Adam optimiser, then are renormalised to sum to ``n``.
    The reference losses :math:`\\mathcal{L}_i(0)` are those of the first ``backward``.

    Parameters
    ----------
    n_tasks : int
    alpha : float
        Restoring-force asymmetry (default 1.5, the paper's and the authors' default).
    lr : float
        Adam learning rate of the weights (default 0.025).
    gradients : {"params", "representation"}
        Take the gradient norms at the last shared layer, i.e. the last tensor of
        ``shared_params`` with at least two dimensions (pass the backbone's parameters in
        forward order), or at the shared representation (cheaper).
    batched : bool or None
        Compute the per-task gradients in one batched pass (True) or a loop (False); None
        (default): batched on a GPU, the loop on the CPU.
    """

    name = "gradnorm"
    supports_distributed = False

    def __init__(self, n_tasks: int, alpha: float = 1.5, lr: float = 0.025,
                 gradients: str = "params", batched: bool | None = None):
        super().__init__(n_tasks)
        self.alpha = non_negative(alpha, "alpha")
        self.lr = positive(lr, "lr")
        self.gradients = choice(gradients, "gradients", GRADIENT_TARGETS)
        self.batched = check_batched(batched)
        self.module = W.GradNormWeights(self.n_tasks)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=self.lr)
        self.initial_losses = None

    def _backward(self, losses, shared, task, representation) -> dict:
        vec = torch.stack(losses)
        matrices = [p for p in shared if p.ndim >= 2]
        layer = [matrices[-1]] if matrices else shared
        rep = representation if isinstance(representation, torch.Tensor) and representation.requires_grad else None
        if self.gradients == "representation":
            grads = [representation_gradients(losses, check_representation(representation), [])[0]]
        elif rep is not None:
            grads = batched_vjp(rep, layer, representation_gradients(losses, rep, [])[0], self.batched)
        else:
            grads = task_gradients(losses, layer, batched=self.batched)
        norms = torch.cat([g.reshape(self.n_tasks, -1) for g in grads], dim=1).norm(dim=1).detach()
        current = vec.detach()
        if self.initial_losses is None:
            self.initial_losses = current.clone().cpu()
        module = self.module.to(device=vec.device)
        weights = module.weights.detach().clone()
        # network update with the current weights
        self._backward_scalar(module(vec), shared, task)
        # weight update: descend the GradNorm loss, then renormalise to sum to n
        self.optimizer.zero_grad(set_to_none=True)
        gn_loss = W.gradnorm_loss(module.weights, norms, current, self.initial_losses.to(current), self.alpha)
        module.weights.grad = torch.autograd.grad(gn_loss, module.weights)[0]
        self.optimizer.step()
        module.renormalise()
        return {"weights": weights.float().cpu(), "grad_norms": norms.float().cpu(),
                "gradnorm_loss": gn_loss.detach().float().cpu()}

    def hyperparameters(self):
        return {"alpha": self.alpha, "lr": self.lr, "gradients": self.gradients, "batched": self.batched}

    def _extra_state(self):
        return {"module": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "initial_losses": self.initial_losses}

    def _load_extra_state(self, state):
        self.module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.initial_losses = state["initial_losses"]
