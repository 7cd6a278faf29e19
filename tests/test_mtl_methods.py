"""The MTL method classes of radarode_lite.mtl.methods behind one interface (chapters 9-12)."""

import io
import math

import pytest
import torch

from radarode_lite.mtl import METHODS, functional, get_method, task_gradients
from radarode_lite.mtl.methods import EGA, EW, GLS, STCH, UW, AlignedMTL, DWA, GradNorm

ALL = list(METHODS)


class TinyMTL(torch.nn.Module):
    """Shared two-layer trunk and one linear head per task."""

    def __init__(self, n_tasks=3, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.backbone = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.Tanh(),
                                            torch.nn.Linear(12, 6), torch.nn.Tanh())
        self.heads = torch.nn.ModuleList(torch.nn.Linear(6, 2) for _ in range(n_tasks))


def make_batch(n_tasks=3, seed=1, scales=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, generator=g)
    scales = scales or [1.0, 10.0, 0.3, 2.0][:n_tasks]
    ys = [s * torch.randn(16, 2, generator=g) for s in scales]
    return x, ys


def losses_of(model, x, ys, loss_scales=None):
    rep = model.backbone(x)
    losses = [torch.nn.functional.mse_loss(h(rep), y) for h, y in zip(model.heads, ys)]
    if loss_scales is not None:
        losses = [c * l for c, l in zip(loss_scales, losses)]
    return rep, losses


def run_backward(method, model, x, ys, task=True, loss_scales=None):
    model.zero_grad(set_to_none=True)
    rep, losses = losses_of(model, x, ys, loss_scales)
    info = method.backward(losses, model.backbone.parameters(),
                           model.heads.parameters() if task else None, shared_representation=rep)
    shared = torch.cat([p.grad.reshape(-1) for p in model.backbone.parameters()])
    heads = torch.cat([p.grad.reshape(-1) for p in model.heads.parameters()])
    return shared, heads, info, losses


def per_task_shared_grads(model, x, ys):
    rep, losses = losses_of(model, x, ys)
    params = list(model.backbone.parameters())
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(l, params, retain_graph=True)]) for l in losses]
    return torch.stack(rows), [float(l.detach()) for l in losses]


# ------------------------------------------------------------------ registry


def test_registry_holds_every_table_ii_method():
    expected = {"ew", "uw", "gls", "dwa", "stch", "rlw", "gradnorm", "pcgrad", "graddrop", "gradvac",
                "cagrad", "mgda", "imtl", "nash_mtl", "moco", "aligned_mtl", "ega"}
    assert set(METHODS) == expected
    for name in expected:
        method = get_method(name, n_tasks=3)
        assert method.name == name and method.kind in ("loss", "gradient")
    assert isinstance(get_method("Aligned-MTL", n_tasks=2), AlignedMTL)
    assert get_method("ega", n_tasks=2, temperature=0.5).temperature == 0.5


def test_get_method_rejects_unknown_names():
    with pytest.raises(ValueError, match="valid names: .*aligned_mtl"):
        get_method("adam", n_tasks=3)
    with pytest.raises(TypeError):
        get_method(3, n_tasks=3)
    with pytest.raises(ValueError, match="n_tasks"):
        get_method("ew", n_tasks=0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: get_method("ega", n_tasks=3, gradients="backbone"),
        lambda: get_method("ega", n_tasks=3, temperature=0),
        lambda: get_method("ega", n_tasks=3, variant="other"),
        lambda: get_method("dwa", n_tasks=3, temperature=-1.0),
        lambda: get_method("stch", n_tasks=3, warmup_epoch=-1),
        lambda: get_method("cagrad", n_tasks=3, c=-0.1),
    ],
)
def test_bad_hyperparameters_raise(build):
    with pytest.raises(ValueError):
        build()


def test_backward_validates_its_inputs():
    model = TinyMTL()
    x, ys = make_batch()
    rep, losses = losses_of(model, x, ys)
    with pytest.raises(ValueError, match="one loss per task"):
        get_method("ew", n_tasks=3).backward(losses[:2], model.backbone.parameters())
    with pytest.raises(ValueError, match="shared_representation"):
        get_method("aligned_mtl", n_tasks=3, gradients="representation").backward(
            losses, model.backbone.parameters(), model.heads.parameters())
    with pytest.raises(ValueError, match="require grad"):
        get_method("ew", n_tasks=3).backward([l.detach() for l in losses], model.backbone.parameters())


# ------------------------------------------------------------------ one task


ONE_TASK_FACTOR = {  # documented scale of each method's update for a single task gradient g
    "stch": lambda g, loss: 1.0 / loss,  # gradient of log L
    "cagrad": lambda g, loss: 1.5 / 1.25,  # (1 + c) / (1 + c^2) with c = 0.5
    "nash_mtl": lambda g, loss: 1.0 / float(g.norm()),  # unit norm (clipped at max_norm = 1)
    "moco": lambda g, loss: loss / float(g.norm()),  # rows rescaled to L g / |g|
}


@pytest.mark.parametrize("name", ALL)
def test_one_task_reduces_to_plain_gradient(name):
    model = TinyMTL(n_tasks=1)
    x, ys = make_batch(n_tasks=1)
    G, losses = per_task_shared_grads(model, x, ys)
    g = G[0]
    shared, _, _, _ = run_backward(get_method(name, n_tasks=1), model, x, ys)
    factor = ONE_TASK_FACTOR.get(name, lambda g, loss: 1.0)(g, losses[0])
    assert torch.allclose(shared, factor * g, rtol=1e-4, atol=1e-7), name


# ------------------------------------------------------------------ per-task gradients


def test_batched_task_gradients_equal_loop():
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                               torch.nn.Conv1d(4, 4, 3), torch.nn.Flatten())
    x = torch.randn(8, 2, 10)
    rep = conv(x)
    losses = [rep[:, :5].pow(2).mean(), (rep[:, 5:] - 1).abs().mean(), rep.sin().sum()]
    params = list(conv.parameters())
    batched = task_gradients(losses, params, batched=True)
    looped = task_gradients(losses, params, batched=False)
    assert len(batched) == len(params)
    for b, l, p in zip(batched, looped, params):
        assert b.shape == (3, *p.shape)
        assert torch.allclose(b, l, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(batched[0][0], batched[0][1])  # rows are really per task


@pytest.mark.parametrize("name", ["ega", "aligned_mtl", "cagrad", "gradnorm"])
def test_default_loops_on_the_cpu_and_gives_the_batched_update(name, monkeypatch):
    """batched=None (the default) takes no batched pass for CPU tensors, and the update is the batched one."""
    calls = []
    grad = torch.autograd.grad

    def counting(*args, **kwargs):
        calls.append(bool(kwargs.get("is_grads_batched", False)))
        return grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    updates = {}
    for batched in (None, True, False):
        model = TinyMTL()
        x, ys = make_batch()
        calls.clear()
        method = get_method(name, n_tasks=3, batched=batched)
        assert method.batched is batched and method.hyperparameters()["batched"] is batched
        shared, heads, _, _ = run_backward(method, model, x, ys, task=True)
        updates[batched] = torch.cat([shared, heads])
        assert any(calls) == (batched is True), (batched, calls)
    assert torch.allclose(updates[None], updates[True], rtol=1e-5, atol=1e-7)
    assert torch.equal(updates[None], updates[False])


@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_batched_option_must_be_a_bool_or_none(bad):
    with pytest.raises(TypeError, match="batched must be True, False or None"):
        get_method("ega", n_tasks=3, batched=bad)


@pytest.mark.parametrize("batched", [True, False])
def test_parameter_gradients_same_with_or_without_representation(batched):
    model = TinyMTL()
    x, ys = make_batch()
    G, _ = per_task_shared_grads(model, x, ys)
    results = []
    for with_rep in (True, False):
        model.zero_grad(set_to_none=True)
        rep, losses = losses_of(model, x, ys)
        AlignedMTL(3, batched=batched).backward(losses, model.backbone.parameters(), model.heads.parameters(),
                                                 shared_representation=rep if with_rep else None)
        results.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert torch.allclose(results[0], results[1], rtol=1e-5, atol=1e-7)
    shared = results[0][: G.shape[1]]
    assert torch.allclose(shared, functional.aligned_mtl(G), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("task", [True, False])
def test_ew_representation_equals_parameter_gradients(task):
    model = TinyMTL()
    x, ys = make_batch()
    plain_s, plain_h, _, _ = run_backward(EW(3), model, x, ys, task)
    par_s, par_h, _, _ = run_backward(EW(3, gradients="params"), model, x, ys, task)
    rep_s, rep_h, _, _ = run_backward(EW(3, gradients="representation"), model, x, ys, task)
    for s, h in ((par_s, par_h), (rep_s, rep_h)):
        assert torch.allclose(s, plain_s, rtol=1e-5, atol=1e-7)
        assert torch.allclose(h, plain_h, rtol=1e-5, atol=1e-7)


def test_gradient_method_contract_shared_update_and_own_head_gradients():
    model = TinyMTL()
    x, ys = make_batch()
    G, _ = per_task_shared_grads(model, x, ys)
    _, plain_heads, _, _ = run_backward(EW(3), model, x, ys)
    shared, heads, info, _ = run_backward(AlignedMTL(3), model, x, ys)
    assert torch.allclose(shared, functional.aligned_mtl(G), rtol=1e-4, atol=1e-7)
    assert torch.allclose(heads, plain_heads, rtol=1e-5, atol=1e-8)  # each head: its own task gradient
    assert torch.allclose(info["grad_norms"], G.norm(dim=1), rtol=1e-4)
    # the reported weights reproduce the update from the task gradients
    assert torch.allclose(G.T.double() @ info["weights"].double(), shared.double(), rtol=1e-3, atol=1e-6)


def test_backward_accumulates_like_tensor_backward():
    model = TinyMTL()
    x, ys = make_batch()
    once, _, _, _ = run_backward(AlignedMTL(3), model, x, ys)
    rep, losses = losses_of(model, x, ys)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    AlignedMTL(3).backward(losses, model.backbone.parameters(), model.heads.parameters(), rep)
    total = torch.cat([p.grad.reshape(-1) for p in model.backbone.parameters()])
    assert torch.allclose(total, once + 1, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ EGA


def test_ega_eccentric_vector_uniform_until_warmup_then_favours_slow_task():
    method = EGA(2, temperature=1.0, warmup_epoch=1)
    history = [[1.0, 1.0], [0.8, 0.5], [0.6, 0.1]]
    for epoch, losses in enumerate(history):
        method.start_epoch(epoch)
        assert torch.equal(method.v_ecc, torch.ones(2)), epoch  # epochs 0, 1 (warm-up) and 2
        method.end_epoch(losses)
    # epoch 3: task 0 kept 0.6/0.8 of its warm-up loss, task 1 only 0.1/0.5: task 0 is slower
    v = method.v_ecc
    assert method.epoch == 3 and v[0] > v[1]
    assert math.isclose(float(v.sum()), 2.0, rel_tol=1e-6)
    r = torch.tensor([0.6 / 0.8, 0.1 / 0.5])
    assert torch.allclose(v, 2 * torch.softmax(r, 0), rtol=1e-5)
    # a smaller temperature skews more
    cold = EGA(2, temperature=0.1, warmup_epoch=1)
    for losses in history:
        cold.end_epoch(losses)
    assert cold.v_ecc[0] > v[0]


def test_ega_before_warmup_equals_aligned_mtl_and_uses_v_after():
    model = TinyMTL()
    x, ys = make_batch()
    aligned, _, _, _ = run_backward(AlignedMTL(3), model, x, ys)
    ega = EGA(3, warmup_epoch=0)
    before, _, info, _ = run_backward(ega, model, x, ys)
    assert torch.allclose(before, aligned, rtol=1e-5, atol=1e-7)
    assert torch.equal(info["v_ecc"], torch.ones(3))
    ega.end_epoch([1.0, 1.0, 1.0])
    ega.end_epoch([0.9, 0.2, 0.5])
    G, _ = per_task_shared_grads(model, x, ys)
    after, _, info, _ = run_backward(ega, model, x, ys)
    assert info["v_ecc"][0] > info["v_ecc"][2] > info["v_ecc"][1]
    assert torch.allclose(after, functional.ega(G, info["v_ecc"]), rtol=1e-4, atol=1e-7)


def test_end_epoch_defaults_to_mean_of_seen_batch_losses():
    model = TinyMTL()
    method = DWA(3)
    seen = []
    for seed in (1, 2):
        x, ys = make_batch(seed=seed)
        _, _, info, _ = run_backward(method, model, x, ys)
        seen.append(info["losses"])
    method.end_epoch()
    assert torch.allclose(torch.tensor(method.epoch_losses[0]), torch.stack(seen).mean(0), rtol=1e-6)
    assert method.epoch == 1


# ------------------------------------------------------------------ loss-only methods and scale


def test_dwa_and_stch_classes_invariant_to_rescaling_a_loss():
    scales = [1.0, 100.0, 1.0]
    history = [[1.0, 2.0, 0.5], [0.7, 1.9, 0.3]]
    model = TinyMTL()
    x, ys = make_batch()
    for make in (lambda: DWA(3), lambda: STCH(3, mu=0.5, warmup_epoch=0)):
        plain, scaled = make(), make()
        for losses in history:
            plain.end_epoch(losses)
            scaled.end_epoch([c * v for c, v in zip(scales, losses)])
        _, _, info_p, _ = run_backward(plain, model, x, ys)
        g_p = torch.cat([p.grad.reshape(-1) for p in model.backbone.parameters()])
        _, _, info_s, _ = run_backward(scaled, model, x, ys, loss_scales=scales)
        g_s = torch.cat([p.grad.reshape(-1) for p in model.backbone.parameters()])
        if isinstance(plain, DWA):  # same weights; the rescaled term itself stays rescaled
            assert torch.allclose(info_p["weights"], info_s["weights"])
            assert not torch.allclose(g_p, g_s)
        else:  # STCH's whole update is scale-free
            assert torch.allclose(g_p, g_s, rtol=1e-4, atol=1e-7)


def test_gls_class_direction_invariant_to_rescaling_a_loss():
    model = TinyMTL()
    x, ys = make_batch()
    g1, _, _, _ = run_backward(GLS(3), model, x, ys)
    g2, _, _, _ = run_backward(GLS(3), model, x, ys, loss_scales=[1.0, 1.0, 1000.0])
    assert float(torch.dot(g1, g2) / (g1.norm() * g2.norm())) > 1 - 1e-5
    assert math.isclose(float(g2.norm() / g1.norm()), 1000 ** (1 / 3), rel_tol=1e-3)


def test_uw_learns_sigma2_equal_to_loss():
    model = TinyMTL()
    x, ys = make_batch(scales=[1.0, 3.0, 0.3])
    method = UW(3, lr=0.1)
    for _ in range(150):  # the network is not stepped: the losses stay fixed
        _, _, info, losses = run_backward(method, model, x, ys)
    sigma2 = torch.exp(method.module.log_vars.detach())
    assert torch.allclose(sigma2, info["losses"], rtol=0.05)


def test_gradnorm_lowers_weight_of_dominant_task_and_keeps_sum():
    model = TinyMTL(n_tasks=2)
    x, ys = make_batch(n_tasks=2, scales=[1.0, 10.0])
    method = GradNorm(2, alpha=0.0, lr=0.05)
    for _ in range(20):
        _, _, info, _ = run_backward(method, model, x, ys)
    w = method.module.weights.detach()
    assert math.isclose(float(w.sum()), 2.0, rel_tol=1e-5)
    assert w[1] < 0.5 < 1.5 < w[0]
    assert info["grad_norms"][1] > 5 * info["grad_norms"][0]


# ------------------------------------------------------------------ exact resume


RESUME_KWARGS = {"stch": {"warmup_epoch": 0}, "ega": {"warmup_epoch": 0}, "uw": {"lr": 0.05}}


def _train(method, model, opt, epochs, first_epoch=0):
    grads = []
    for epoch in range(first_epoch, first_epoch + epochs):
        method.start_epoch(epoch)
        for seed in (epoch * 10 + 1, epoch * 10 + 2):
            x, ys = make_batch(seed=seed)
            opt.zero_grad(set_to_none=True)
            shared, heads, _, _ = run_backward(method, model, x, ys)
            grads.append(torch.cat([shared, heads]))
            opt.step()
        method.end_epoch()
    return grads


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_reproduces_next_steps_exactly(name):
    kwargs = RESUME_KWARGS.get(name, {})
    model = TinyMTL()
    method = get_method(name, n_tasks=3, **kwargs)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.5)
    _train(method, model, opt, epochs=2)
    buffer = io.BytesIO()
    torch.save({"method": method.state_dict(), "model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    expected = _train(method, model, opt, epochs=1, first_epoch=2)

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    model2 = TinyMTL(seed=5)
    model2.load_state_dict(saved["model"])
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.02, momentum=0.5)
    opt2.load_state_dict(saved["opt"])
    method2 = get_method(name, n_tasks=3, **kwargs)
    method2.load_state_dict(saved["method"])
    resumed = _train(method2, model2, opt2, epochs=1, first_epoch=2)
    for a, b in zip(expected, resumed):
        assert torch.equal(a, b), name


def test_load_state_dict_rejects_other_method():
    with pytest.raises(ValueError, match="ega"):
        EGA(3).load_state_dict(UW(3).state_dict())


def test_moco_refuses_representation_gradients():
    """A running average of representation gradients would mix coordinates of different samples."""
    with pytest.raises(ValueError, match="gradients='params'"):
        get_method("moco", 2, gradients="representation")
    assert get_method("moco", 2).gradients == "params"
