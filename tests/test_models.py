"""Tests for radarode_lite.models: the radarODE-MTL network and its deformable convolution."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from radarode_lite import ode
from radarode_lite.losses import task_losses
from radarode_lite.models import (
    MODEL_PRESETS,
    ODE_MAX_REL,
    ODE_MAX_SHIFT,
    TASKS,
    DeformConv2d,
    RadarODEMTL,
    get_model_preset,
    minmax_normalise,
)


def random_input(preset, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, *MODEL_PRESETS[preset].input_shape, generator=g)


def random_batch(batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "shape": torch.rand(batch, 200, generator=g),
        "anchor": torch.rand(batch, 800, generator=g),
        "ppi": torch.randint(100, 250, (batch,), generator=g),
    }


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def lite_model():
    return RadarODEMTL("lite", seed=0)


# --------------------------------------------------------------------------- shapes and API


def test_lite_outputs_have_the_documented_shapes(lite_model):
    x = random_input("lite", 3)
    out, features = lite_model(x, return_features=True)
    assert set(out) == set(TASKS)
    assert out["shape"].shape == (3, 200)
    assert out["anchor"].shape == (3, 800)
    assert out["ppi"].shape == (3, 260)
    assert features.shape == (3, *lite_model.feature_shape)
    assert lite_model.feature_shape[1] == MODEL_PRESETS["lite"].n_frames // 4


def test_paper_preset_takes_the_paper_input_shape():
    model = RadarODEMTL("paper", seed=0)
    assert model.preset.input_shape == (50, 71, 120)
    with torch.no_grad():
        out = model(random_input("paper", 1))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"shape": (1, 200), "anchor": (1, 800), "ppi": (1, 260)}
    counts = model.count_parameters()
    assert counts["total"] > 50 * RadarODEMTL("lite").count_parameters()["total"]


def test_lite_preset_is_small_enough_for_a_cpu(lite_model):
    counts = lite_model.count_parameters()
    assert 100_000 <= counts["total"] <= 300_000
    assert counts["total"] == counts["shared"] + sum(counts[t] for t in TASKS)


def test_model_presets_match_the_spectrogram_presets():
    from radarode_lite import timefreq

    for name, preset in MODEL_PRESETS.items():
        assert timefreq.PRESETS[name].shape == preset.input_shape


def test_encode_then_decode_equals_forward(lite_model):
    lite_model.eval()
    try:
        x = random_input("lite", 2, seed=1)
        with torch.no_grad():
            direct = lite_model(x)
            staged = lite_model.decode(lite_model.encode(x))
        for task in TASKS:
            torch.testing.assert_close(direct[task], staged[task])
    finally:
        lite_model.train()


def test_shared_and_task_parameters_partition_the_model(lite_model):
    shared = {id(p) for p in lite_model.shared_parameters()}
    per_task = {t: {id(p) for p in ps} for t, ps in lite_model.task_parameters().items()}
    assert set(per_task) == set(TASKS)
    groups = [shared, *per_task.values()]
    assert all(groups)
    assert sum(len(g) for g in groups) == len(set().union(*groups))  # disjoint
    assert set().union(*groups) == {id(p) for p in lite_model.parameters()}


def test_the_shared_representation_carries_every_task_gradient(lite_model):
    x = random_input("lite", 4, seed=2)
    out, features = lite_model(x, return_features=True)
    losses = task_losses(out, random_batch(4, seed=2))
    grads = [torch.autograd.grad(losses[t], features, retain_graph=True)[0] for t in TASKS]
    for g in grads:
        assert g.shape == features.shape
        assert g.abs().sum() > 0
    # three different directions, not one gradient repeated
    flat = torch.stack([g.flatten() / g.norm() for g in grads])
    assert (flat @ flat.T - torch.eye(3)).abs().max() < 0.999


@pytest.mark.parametrize("use_ode", [True, False])
def test_a_gradient_reaches_every_parameter(use_ode):
    model = RadarODEMTL("lite", use_ode=use_ode, seed=1)
    out = model(random_input("lite", 4, seed=3))
    sum(task_losses(out, random_batch(4, seed=3)).values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    # the deformable convolutions' offset predictors learn, although they start at zero
    assert any("offset_conv" in name for name, _ in model.named_parameters())


def test_a_few_optimiser_steps_fit_a_fixed_batch():
    model = RadarODEMTL("lite", seed=7)
    x, batch = random_input("lite", 8, seed=7), random_batch(8, seed=7)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        total = sum(task_losses(model(x), batch).values())
        total.backward()
        optimiser.step()
        losses.append(total.item())
    assert losses[-1] < 0.8 * losses[0]


def test_seed_makes_the_initial_weights_reproducible():
    state = torch.random.get_rng_state()
    a, b, c = RadarODEMTL("lite", seed=5), RadarODEMTL("lite", seed=5), RadarODEMTL("lite", seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.backbone.stages[0].down[0].weight, c.backbone.stages[0].down[0].weight)


# --------------------------------------------------------------------------- the ODE branch


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_the_ode_branch_draws_a_valid_normalised_beat_in_the_bounded_box(scale):
    model = RadarODEMTL("lite", seed=4)
    decoder = model.decoders["shape"]
    with torch.no_grad():
        decoder.ode_head[-1].weight.mul_(scale)  # scale 1e4 drives tanh into saturation
        parts = decoder.components(model.encode(random_input("lite", 4, seed=4)))
    beat, params = parts["ode"], parts["ode_params"]
    assert beat.shape == (4, 200) and params.shape == (4, 15)
    assert torch.isfinite(beat).all()
    torch.testing.assert_close(beat.min(dim=1).values, torch.zeros(4))
    torch.testing.assert_close(beat.max(dim=1).values, torch.ones(4), atol=1e-6, rtol=0)
    default = ode.DEFAULT_PARAMS
    is_theta = torch.zeros(15, dtype=torch.bool)
    is_theta[2::3] = True
    rel = params[:, ~is_theta] / default[~is_theta] - 1
    assert (rel.abs() <= ODE_MAX_REL + 1e-6).all()  # every a keeps its sign, every b stays positive
    assert ((params[:, is_theta] - default[is_theta]).abs() <= ODE_MAX_SHIFT + 1e-6).all()
    if scale > 1:
        assert rel.abs().max() > 0.9 * ODE_MAX_REL  # the box is reached, not only its centre
    # the same box as the ODE module's own map
    expected = ode.relative_params(parts["ode_deviation"], max_rel=ODE_MAX_REL, max_shift=ODE_MAX_SHIFT)
    torch.testing.assert_close(params, expected)
    assert (params[:, 2::3].diff(dim=1) >= 0).all()  # P, Q, R, S, T never swap order


def test_a_fresh_ode_branch_draws_the_default_beat_and_fuses_half_and_half():
    model = RadarODEMTL("lite", seed=2)
    decoder = model.decoders["shape"]
    with torch.no_grad():
        decoder.ode_head[-1].weight.zero_()  # exactly zero deviations
        parts = decoder.components(model.encode(random_input("lite", 2, seed=5)))
    expected = minmax_normalise(ode.ecg_ode(ode.DEFAULT_PARAMS[None].repeat(2, 1)))
    torch.testing.assert_close(parts["ode_params"], ode.DEFAULT_PARAMS[None].repeat(2, 1))
    torch.testing.assert_close(parts["ode"], expected)
    torch.testing.assert_close(parts["shape"], 0.5 * (parts["temporal"] + parts["ode"]))


def test_without_the_ode_branch_the_temporal_branch_is_the_output():
    with_ode = RadarODEMTL("lite", use_ode=True, seed=3)
    without = RadarODEMTL("lite", use_ode=False, seed=3)
    assert not any("ode_head" in name for name, _ in without.named_parameters())
    assert without.count_parameters()["shape"] < with_ode.count_parameters()["shape"]
    assert with_ode.count_parameters()["shared"] == without.count_parameters()["shared"]
    parts = without.decoders["shape"].components(without.encode(random_input("lite", 2)))
    assert "ode" not in parts
    assert torch.equal(parts["shape"], parts["temporal"])
    assert without(random_input("lite", 2))["shape"].shape == (2, 200)


# --------------------------------------------------------------------------- deformable convolution


def plain_twin(deform: DeformConv2d) -> nn.Conv2d:
    conv = nn.Conv2d(
        deform.in_ch, deform.out_ch, deform.kernel_size, stride=deform.stride,
        padding=deform.padding, dilation=deform.dilation, bias=deform.bias is not None,
    )
    with torch.no_grad():
        conv.weight.copy_(deform.weight)
        if deform.bias is not None:
            conv.bias.copy_(deform.bias)
    return conv


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=3, stride=2, padding=1, bias=False),
        dict(kernel_size=3, stride=1, padding=2, dilation=2, modulation=True),
        dict(kernel_size=5, stride=(1), padding=0),
    ],
)
def test_deformable_conv_with_zero_offsets_equals_a_plain_conv(kwargs):
    torch.manual_seed(0)
    deform = DeformConv2d(3, 5, **kwargs)
    x = torch.randn(2, 3, 9, 13)
    expected = plain_twin(deform)(x)
    torch.testing.assert_close(deform(x), expected, atol=1e-5, rtol=1e-5)  # predicted offsets start at zero
    zeros = torch.zeros(2, 2 * deform.kernel_size**2, *expected.shape[2:])
    torch.testing.assert_close(deform(x, offset=zeros), expected, atol=1e-5, rtol=1e-5)


def constant_offset(deform, x, dy, dx):
    h, w = plain_twin(deform)(x).shape[2:]
    offset = torch.zeros(x.shape[0], deform.kernel_size**2, 2, h, w)
    offset[:, :, 0], offset[:, :, 1] = dy, dx
    return offset.view(x.shape[0], -1, h, w)


def test_integer_offsets_shift_the_output():
    torch.manual_seed(1)
    deform = DeformConv2d(2, 4, bias=False)
    x = torch.randn(1, 2, 8, 10)
    plain = plain_twin(deform)(x)
    right = deform(x, offset=constant_offset(deform, x, 0.0, 1.0))  # every tap reads one pixel to the right
    torch.testing.assert_close(right[..., :-1], plain[..., 1:], atol=1e-5, rtol=1e-5)
    up = deform(x, offset=constant_offset(deform, x, -2.0, 0.0))  # two rows up
    torch.testing.assert_close(up[:, :, 2:], plain[:, :, :-2], atol=1e-5, rtol=1e-5)


def test_half_pixel_offsets_interpolate_bilinearly():
    torch.manual_seed(2)
    deform = DeformConv2d(2, 3, bias=False)
    x = torch.randn(1, 2, 7, 9)
    plain = plain_twin(deform)(x)
    half = deform(x, offset=constant_offset(deform, x, 0.0, 0.5))
    torch.testing.assert_close(half[..., :-1], 0.5 * (plain[..., :-1] + plain[..., 1:]), atol=1e-5, rtol=1e-5)


def test_deformable_conv_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        DeformConv2d(2, 3, kernel_size=0)
    deform = DeformConv2d(2, 3)
    with pytest.raises(ValueError, match="x must have shape"):
        deform(torch.zeros(1, 4, 5, 5))
    with pytest.raises(ValueError, match="offset must have shape"):
        deform(torch.zeros(1, 2, 5, 5), offset=torch.zeros(1, 18, 4, 4))


# --------------------------------------------------------------------------- bad inputs


def test_wrong_input_shape_for_the_preset_raises(lite_model):
    with pytest.raises(ValueError, match=r"x must have shape \(B, 8, 32, 120\)"):
        lite_model(random_input("paper", 1))
    with pytest.raises(ValueError, match="x must have shape"):
        lite_model(torch.zeros(8, 32, 120))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        lite_model(random_input("lite", 1).numpy())
    with pytest.raises(TypeError, match="floating-point"):
        lite_model(torch.zeros(1, 8, 32, 120, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"dtype of the network's weights, torch.float32, got torch.float64"):
        lite_model(torch.zeros(1, 8, 32, 120, dtype=torch.float64))
    with pytest.raises(ValueError, match="features must have shape"):
        lite_model.decode(torch.zeros(1, 64, 29))


def test_wrong_preset_or_switch_raises():
    with pytest.raises(ValueError, match="preset must be one of"):
        RadarODEMTL("huge")
    with pytest.raises(TypeError, match="preset"):
        get_model_preset(3)
    with pytest.raises(TypeError, match="use_ode"):
        RadarODEMTL("lite", use_ode="yes")
    with pytest.raises(TypeError, match="seed"):
        RadarODEMTL("lite", seed=1.5)
    with pytest.raises(ValueError, match="widths must have one entry per backbone stage"):
        replace(MODEL_PRESETS["lite"], widths=(16, 32, 64))
    with pytest.raises(ValueError, match="n_freqs must be a positive int"):
        replace(MODEL_PRESETS["lite"], n_freqs=0)


def test_cycle_head_autocorrelation():
    import torch

    from radarode_lite import models as Mo

    flat = Mo.RadarODEMTL("lite", seed=3)
    auto = Mo.RadarODEMTL("lite", seed=3, cycle_head="autocorrelation")
    x = torch.randn(4, 8, 32, 120)
    assert auto(x)["ppi"].shape == flat(x)["ppi"].shape == (4, Mo.N_CYCLE_CLASSES)
    # only the classifier's first layer differs; the backbone and the other decoders are the same weights
    a, f = auto.state_dict(), flat.state_dict()
    differ = sorted(k for k in f if a[k].shape != f[k].shape or not torch.equal(a[k], f[k]))
    assert differ and all(k.startswith("decoders.ppi.classifier") for k in differ)
    with pytest.raises(ValueError, match="cycle_head"):
        Mo.RadarODEMTL("lite", cycle_head="lstm")


def test_plain_convolutions_replace_the_deformable_stages_and_nothing_else():
    import torch

    from radarode_lite import models as Mo

    lite = Mo.RadarODEMTL("lite", seed=3)
    assert Mo.RadarODEMTL("lite", seed=3, deformable=None).preset == lite.preset  # None: the preset's stages
    plain = Mo.RadarODEMTL("lite", seed=3, deformable=(False,) * 4)
    assert plain.preset.name == "lite" and plain.preset.deformable == (False,) * 4
    assert lite.preset.deformable == (False, False, True, True) == Mo.MODEL_PRESETS["lite"].deformable
    assert not any(isinstance(m, Mo.DeformConv2d) for m in plain.modules())
    assert sum(isinstance(m, Mo.DeformConv2d) for m in lite.modules()) == 2
    # the only parameters that go are the offset predictors of stages 3 and 4
    gone = sorted(set(lite.state_dict()) - set(plain.state_dict()))
    assert gone and all(".offset_conv." in k for k in gone) and not set(plain.state_dict()) - set(lite.state_dict())
    x = torch.randn(2, 8, 32, 120)
    out = plain(x)
    assert {k: tuple(v.shape) for k, v in out.items()} == {k: tuple(v.shape) for k, v in lite(x).items()}
    # deformable stages everywhere on the lite input also build and run
    assert Mo.RadarODEMTL("lite", seed=0, deformable=[True] * 4)(x)["shape"].shape == (2, 200)
    with pytest.raises(ValueError, match="deformable must be 4 bools"):
        Mo.RadarODEMTL("lite", deformable="none")
    with pytest.raises(ValueError, match="deformable must be 4 bools"):
        Mo.RadarODEMTL("lite", deformable=(False,) * 3)
    with pytest.raises(TypeError, match=r"deformable\[1\] must be True or False"):
        Mo.RadarODEMTL("lite", deformable=(False, 1, False, False))


def test_autocorrelation_peaks_at_the_period():
    import torch

    from radarode_lite import models as Mo

    t = torch.arange(30.0)
    h = torch.stack([torch.cos(2 * torch.pi * t / p) for p in (5.0, 7.0)])  # periods of 5 and 7 frames
    rho = Mo.autocorrelation(h)
    assert rho.shape == (2, 29)
    assert int(torch.argmax(rho[0, :8])) + 1 == 5 and int(torch.argmax(rho[1, :10])) + 1 == 7
    long = torch.stack([torch.cos(2 * torch.pi * torch.arange(40.0) / p) for p in (5.0, 7.0)])
    for start in (2, 3, 6):  # the same rhythm seen from another start: the beats sit elsewhere in the window
        shifted = Mo.autocorrelation(long[:, start:start + 30])
        assert torch.allclose(rho[:, :10], shifted[:, :10], atol=0.15)
    assert torch.all(Mo.autocorrelation(torch.ones(1, 30)).abs() < 1e-3)  # a flat signal: no false peak
