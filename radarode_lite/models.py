r"""The radarODE-MTL network: a shared backbone and three task decoders (chapters 5-8).

Figure 3 of Zhang et al. (IEEE TIM 2025) splits radar-based ECG reconstruction into three
tasks that read one shared representation of the radar spectrogram (hard parameter sharing):

.. code-block:: text

    x (B, C, F, T) spectrogram
      -> Backbone: 4 residual stages (deformable convolutions) + squeeze   [shared]
      -> features (B, D, T')  one D-dimensional vector per frame (T' = T / 4)
           -> ShapeDecoder   temporal convolutions  +  ODE branch (McSharry)  -> "shape"  (B, 200)
           -> AnchorDecoder  transposed 1-D convolutions                      -> "anchor" (B, 800)
           -> CycleLengthDecoder  convolutions + classifier over 260 lengths   -> "ppi"    (B, 260)

- ``shape``: one cardiac cycle resampled to 200 samples, on the min-max normalised scale
  [0, 1] of the target (chapter 6);
- ``anchor``: the 800-sample (4 s at 200 Hz) R-peak heat map (chapter 7);
- ``ppi``: logits over the cycle length in samples at 200 Hz, classes 0..259 (chapter 8).

Two sizes share one design (:data:`MODEL_PRESETS`): ``"paper"`` takes the paper's input,
50 radar channels x 71 frequencies x 120 frames, with the channel widths of the authors'
code (128 -> 1024) and deformable convolutions in all four stages (about 17 M parameters,
for a GPU); ``"lite"`` takes the book's CPU input, 8 x 32 x 120, with narrow layers and
deformable convolutions only in the last two stages, where the maps are small (about 0.2 M
parameters; one forward and backward pass over 32 segments takes a fraction of a second on
two CPU cores, see ``data_scripts/bench_model.py``), so that a chapter trains it on a laptop.
Both input shapes match :data:`radarode_lite.timefreq.PRESETS`.

:class:`DeformConv2d` is a deformable convolution (Dai et al., ICCV 2017; with the
modulation of Zhu et al., CVPR 2019) written with :func:`torch.nn.functional.grid_sample`:
torch itself has none, and torchvision's is not a dependency of this package (chapter 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from radarode_lite import _checks
from radarode_lite.conventions import ANCHOR_SAMPLES, PPI_CLASSES, SHAPE_SAMPLES, TASKS
from radarode_lite.ode import DEFAULT_PARAMS, ecg_ode

__all__ = ["TASKS", "NORMS", "SHAPE_SAMPLES", "ANCHOR_SAMPLES", "N_CYCLE_CLASSES", "ODE_MAX_REL", "ODE_MAX_SHIFT",
           "ModelPreset", "MODEL_PRESETS", "get_model_preset", "DeformConv2d", "Backbone", "ShapeDecoder",
           "AnchorDecoder", "CycleLengthDecoder", "CYCLE_HEADS", "autocorrelation", "RadarODEMTL",
           "minmax_normalise"]  # fmt: skip

# TASKS (the order of every dict of outputs, targets and losses), SHAPE_SAMPLES (one cycle
# resampled to 200 samples) and ANCHOR_SAMPLES (one 4-s segment at 200 Hz) come from
# radarode_lite.conventions and stay importable from here.

#: Normalisation layers :class:`RadarODEMTL` can be built with.
NORMS = ("batch", "group")

#: Number of cycle-length classes: lengths 0..259 samples at 200 Hz (up to 1.3 s);
#: :data:`radarode_lite.conventions.PPI_CLASSES` under the name the chapters use.
N_CYCLE_CLASSES = PPI_CLASSES

#: Largest relative change of the ODE amplitudes a and widths b predicted by the shape decoder.
ODE_MAX_REL = 0.5
#: Largest shift (rad) of each ODE event position theta: pi/24 = 7.5 deg, half the 15 deg
#: spacing of Q, R and S in the defaults, so the waves can never swap order.
ODE_MAX_SHIFT = math.pi / 24


def _int_at_least(value, name, low, what=None):
    """ValueError unless ``value`` is an int >= ``low`` (bools refused); ``what`` rewords the message."""
    try:
        _checks.integer(value, name, low=low)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what or f'an int >= {low}'}, got {value!r}") from None


@dataclass(frozen=True)
class ModelPreset:
    """Sizes of one network (chapter 5).

    Attributes
    ----------
    name : str
    n_channels, n_freqs, n_frames : int
        Input shape ``(C, F, T)``: radar channels, SST frequency bins, frames (30 Hz).
    widths : tuple of 4 ints
        Output channels of the four backbone stages; ``widths[-1]`` is the feature size D.
    deformable : tuple of 4 bools
        Which stages use :class:`DeformConv2d` in their residual branch.
    strides : tuple of 4 (freq, time) pairs
        Down-sampling of each stage; the time axis shrinks by 4 in total (T' = T / 4).
    shape_width, anchor_width, ppi_width : int
        Channels of the decoders' convolutions.
    ode_hidden, ppi_hidden : int
        Hidden units of the ODE-parameter MLP and of the cycle-length classifier.
    """

    name: str
    n_channels: int
    n_freqs: int
    n_frames: int
    widths: tuple[int, int, int, int]
    deformable: tuple[bool, bool, bool, bool]
    strides: tuple[tuple[int, int], ...]
    shape_width: int
    anchor_width: int
    ppi_width: int
    ode_hidden: int
    ppi_hidden: int

    def __post_init__(self):
        sizes = ("n_channels", "n_freqs", "n_frames", "shape_width", "anchor_width", "ppi_width", "ode_hidden", "ppi_hidden")
        for field in sizes:
            _int_at_least(getattr(self, field), field, 1, "a positive int")
        for field in ("widths", "deformable", "strides"):
            if len(getattr(self, field)) != 4:
                raise ValueError(f"{field} must have one entry per backbone stage (4), got {getattr(self, field)!r}")
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.widths):
            raise ValueError(f"widths must be 4 positive ints, got {self.widths!r}")
        if any(len(s) != 2 or min(s) < 1 for s in self.strides):
            raise ValueError(f"strides must be 4 (freq, time) pairs of positive ints, got {self.strides!r}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, F, T)`` expected by the network."""
        return (self.n_channels, self.n_freqs, self.n_frames)


#: Heads of :class:`CycleLengthDecoder`: the paper's flattened map, or with autocorrelation features.
CYCLE_HEADS = ("flatten", "autocorrelation")

_STRIDES = ((2, 2), (2, 2), (2, 1), (2, 1))

#: The two network sizes, by name:
#:
#: ======  =============  ===================  ==============  =====================  ==========
#: preset  input (C,F,T)  stage widths         deformable      feature maps (F x T)   parameters
#: ======  =============  ===================  ==============  =====================  ==========
#: lite    8 x 32 x 120   16, 32, 48, 64       stages 3 and 4  16x60 8x30 4x30 2x30   0.20 M
#: paper   50 x 71 x 120  128, 256, 512, 1024  all four        36x60 18x30 9x30 5x30  16.9 M
#: ======  =============  ===================  ==============  =====================  ==========
#:
#: Both squeeze to 30 feature vectors (one per 133 ms) of size D = the last width.
MODEL_PRESETS: dict[str, ModelPreset] = {
    "lite": ModelPreset(
        name="lite", n_channels=8, n_freqs=32, n_frames=120,
        widths=(16, 32, 48, 64), deformable=(False, False, True, True), strides=_STRIDES,
        shape_width=8, anchor_width=16, ppi_width=16, ode_hidden=32, ppi_hidden=64,
    ),
    "paper": ModelPreset(
        name="paper", n_channels=50, n_freqs=71, n_frames=120,
        widths=(128, 256, 512, 1024), deformable=(True, True, True, True), strides=_STRIDES,
        shape_width=32, anchor_width=64, ppi_width=64, ode_hidden=256, ppi_hidden=512,
    ),
}


def get_model_preset(preset: str | ModelPreset, deformable=None) -> ModelPreset:
    """The :class:`ModelPreset` named ``preset`` (``"lite"`` or ``"paper"``), or ``preset`` itself,
    with its ``deformable`` stages replaced when given (4 bools, see :func:`deformable_stages`)."""
    if not isinstance(preset, (str, ModelPreset)):
        raise TypeError(f"preset must be a str or ModelPreset, got {type(preset).__name__}")
    if isinstance(preset, str) and preset not in MODEL_PRESETS:
        raise ValueError(f"preset must be one of {sorted(MODEL_PRESETS)}, got {preset!r}")
    if isinstance(preset, str):
        preset = MODEL_PRESETS[preset]
    return preset if deformable is None else replace(preset, deformable=deformable_stages(deformable))


def deformable_stages(value, name="deformable") -> tuple[bool, bool, bool, bool]:
    """``value`` as a tuple of 4 bools (one per backbone stage), else a clear error naming ``name``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 4:
        raise ValueError(f"{name} must be 4 bools, one per backbone stage, got {value!r}")
    return tuple(_checks.boolean(v, f"{name}[{i}]") for i, v in enumerate(value))


class RadarODEMTL(nn.Module):
    """radarODE-MTL: shared backbone + shape, anchor and cycle-length decoders (Fig. 3; chapters 5-8).

    Hard parameter sharing: :meth:`shared_parameters` are the backbone's, and each task owns
    its decoder (:meth:`task_parameters`). :meth:`encode` gives the shared representation and
    :meth:`decode` the three outputs from it, so that multi-task methods can take per-task
    gradients with respect to either the shared parameters or the representation (chapter 9).

    Parameters
    ----------
    preset : ``"lite"``, ``"paper"`` or a :class:`ModelPreset`
        Network size and input shape (:data:`MODEL_PRESETS`).
    use_ode : bool
        Give the shape decoder its ODE branch (default) or not (ablation, chapter 6).
    seed : int or None
        If given, the initial weights are drawn from ``torch.manual_seed(seed)`` without
        touching the global random state; otherwise from the global generator.
    norm : ``"batch"`` or ``"group"``
        Normalisation layers: batch normalisation (default, as in the paper) or group
        normalisation with one group (statistics per segment, independent of the batch), for
        data-parallel training where every process must agree exactly with a single one
        (:mod:`radarode_lite.distributed`). The other weights are the same for a seed.
    cycle_head : ``"flatten"`` (the paper's) or ``"autocorrelation"``: the head of
        :class:`CycleLengthDecoder` (the experiment grids use the second; chapter 8).
    deformable : None (the preset's stages) or 4 bools: the backbone stages with a
        :class:`DeformConv2d`, recorded in ``self.preset`` (same name); ``(False,) * 4`` is the
        right-sized network of chapter 12, plain convolutions everywhere.

    Call ``model(x)`` with ``x: (B, C, F, T)`` float; returns ``{"shape": (B, 200),
    "anchor": (B, 800), "ppi": (B, 260) logits}``; ``model(x, return_features=True)``
    returns ``(outputs, features)`` with ``features: (B, D, T')``.
    """

    def __init__(self, preset: str | ModelPreset = "lite", use_ode: bool = True, seed: int | None = None,
                 norm: str = "batch", cycle_head: str = "flatten", deformable=None):
        super().__init__()
        self.preset = get_model_preset(preset, deformable)
        self.cycle_head = _checks.choice(cycle_head, "cycle_head", CYCLE_HEADS)
        use_ode = _checks.boolean(use_ode, "use_ode")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.norm = norm
        if seed is not None:
            seed = _checks.integer(seed, "seed")
        self.use_ode = use_ode
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            p = self.preset
            self.backbone = Backbone(p)
            d, t = self.backbone.feature_dim, self.backbone.n_steps
            self.decoders = nn.ModuleDict(
                {
                    "shape": ShapeDecoder(d, t, width=p.shape_width, ode_hidden=p.ode_hidden, use_ode=use_ode),
                    "anchor": AnchorDecoder(d, t, width=p.anchor_width),
                    "ppi": CycleLengthDecoder(d, t, width=p.ppi_width, hidden=p.ppi_hidden, head=cycle_head),
                }
            )
        if norm == "group":
            _batch_to_group_norm(self)

    @property
    def feature_shape(self) -> tuple[int, int]:
        """``(D, T')`` of the shared representation."""
        return (self.backbone.feature_dim, self.backbone.n_steps)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Shared representation: ``x (B, C, F, T)`` -> features ``(B, D, T')``."""
        self._check_input(x)
        return self.backbone(x)

    def decode(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Task outputs from the shared representation ``features (B, D, T')``."""
        if not isinstance(features, torch.Tensor):
            raise TypeError(f"features must be a torch.Tensor, got {type(features).__name__}")
        if features.ndim != 3 or tuple(features.shape[1:]) != self.feature_shape:
            raise ValueError(
                f"features must have shape (B, {self.feature_shape[0]}, {self.feature_shape[1]}), "
                f"got {tuple(features.shape)}"
            )
        return {task: self.decoders[task](features) for task in TASKS}

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = self.encode(x)
        outputs = self.decode(features)
        return (outputs, features) if return_features else outputs

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters of the shared backbone (the ``theta`` of the MTL problem, chapter 9)."""
        return list(self.backbone.parameters())

    def task_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Task-specific parameters: ``{task: parameters of its decoder}`` for :data:`TASKS`."""
        return {task: list(self.decoders[task].parameters()) for task in TASKS}

    def count_parameters(self) -> dict[str, int]:
        """Number of trainable parameters: ``shared``, each task, and ``total``."""
        counts = {"shared": _count(self.shared_parameters())}
        counts.update({task: _count(params) for task, params in self.task_parameters().items()})
        counts["total"] = _count(self.parameters())
        return counts

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        weights = next(self.parameters()).dtype
        if x.dtype != weights:
            raise TypeError(f"x must have the dtype of the network's weights, {weights}, got {x.dtype} "
                            f"(convert it with x.to({weights}))")  # fmt: skip
        expected = self.preset.input_shape
        if x.ndim != 4 or tuple(x.shape[1:]) != expected or x.shape[0] < 1:
            raise ValueError(
                f"x must have shape (B, {expected[0]}, {expected[1]}, {expected[2]}) for preset "
                f"{self.preset.name!r}, got {tuple(x.shape)}"
            )


class DeformConv2d(nn.Module):
    r"""Deformable 2-D convolution in plain torch (Dai et al., 2017; Zhu et al., 2019; chapter 5).

    A plain convolution reads its ``k x k`` taps on a fixed grid,
    :math:`y(p) = \sum_n w_n x(p + p_n)`. A deformable one adds a learned, fractional offset
    per tap and output position and reads the input by bilinear interpolation,

    .. math:: y(p) = \sum_n w_n \, m_n(p) \, x(p + p_n + \Delta p_n(p)),

    where the offsets :math:`\Delta p_n` (and, with ``modulation``, the masks
    :math:`m_n \in (0, 2)`) come from an ordinary convolution over the same input. That
    convolution starts at zero weights, so a fresh layer is exactly ``nn.Conv2d``.

    All ``k*k`` shifted copies of the input are gathered with one
    :func:`~torch.nn.functional.grid_sample` call and contracted with the weights in one
    matrix product.

    Parameters
    ----------
    in_ch, out_ch : int
    kernel_size, stride, padding, dilation : int
        As for ``nn.Conv2d`` (square kernels; zero padding).
    bias : bool
    modulation : bool
        Also learn a mask per tap (DCNv2); ``m = 2 sigmoid(.)``, equal to 1 at initialisation.

    ``forward(x, offset=None)``: ``x (B, in_ch, H, W)``; ``offset (B, 2*k*k, H_out, W_out)``
    overrides the predicted offsets, laid out tap by tap (row-major over the kernel) as
    ``(dy, dx)`` pairs in input pixels.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        dilation: int = 1,
        bias: bool = True,
        modulation: bool = False,
    ):
        super().__init__()
        for name, value, low in (
            ("in_ch", in_ch, 1), ("out_ch", out_ch, 1), ("kernel_size", kernel_size, 1),
            ("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1),
        ):
            _int_at_least(value, name, low)
        self.in_ch, self.out_ch = in_ch, out_ch
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        taps = kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_ch)) if bias else None
        conv_args = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
        self.offset_conv = nn.Conv2d(in_ch, 2 * taps, **conv_args)
        self.mask_conv = nn.Conv2d(in_ch, taps, **conv_args) if modulation else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights as ``nn.Conv2d`` initialises them; offset (and mask) predictors at zero."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_ch * self.kernel_size**2)
            nn.init.uniform_(self.bias, -bound, bound)
        for conv in (self.offset_conv, self.mask_conv):
            if conv is not None:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"x must have shape (B, {self.in_ch}, H, W), got {tuple(x.shape)}")
        batch, _, height, width = x.shape
        k, taps = self.kernel_size, self.kernel_size**2
        h_out = (height + 2 * self.padding - self.dilation * (k - 1) - 1) // self.stride + 1
        w_out = (width + 2 * self.padding - self.dilation * (k - 1) - 1) // self.stride + 1
        if offset is None:
            offset = self.offset_conv(x)
        elif tuple(offset.shape) != (batch, 2 * taps, h_out, w_out):
            raise ValueError(f"offset must have shape {(batch, 2 * taps, h_out, w_out)}, got {tuple(offset.shape)}")
        offset = offset.view(batch, taps, 2, h_out, w_out)

        # Sampling positions in input pixels, (B, taps, H_out, W_out) for y and for x.
        base_y, base_x = self._base_positions(h_out, w_out, x.device, x.dtype)
        pos_y = base_y + offset[:, :, 0]
        pos_x = base_x + offset[:, :, 1]
        # grid_sample coordinates (align_corners=False): pixel i has centre (2i + 1) / size - 1.
        grid = torch.stack(((2 * pos_x + 1) / width - 1, (2 * pos_y + 1) / height - 1), dim=-1)
        grid = grid.reshape(batch, taps * h_out, w_out, 2)
        sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        sampled = sampled.view(batch, self.in_ch, taps, h_out * w_out)  # (B, C, taps, L)
        if self.mask_conv is not None:
            mask = 2.0 * torch.sigmoid(self.mask_conv(x)).view(batch, 1, taps, h_out * w_out)
            sampled = sampled * mask
        # One contraction over (input channel, tap) for every output position.
        out = torch.einsum("ok,bkl->bol", self.weight.view(self.out_ch, -1), sampled.view(batch, -1, h_out * w_out))
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1)
        return out.view(batch, self.out_ch, h_out, w_out)

    def _base_positions(self, h_out: int, w_out: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """Undeformed tap positions ``p + p_n`` in input pixels, each of shape (taps, H_out, W_out)."""
        k = self.kernel_size
        kernel = torch.arange(k, device=device, dtype=dtype) * self.dilation
        tap_y, tap_x = torch.meshgrid(kernel, kernel, indexing="ij")  # (k, k), row-major taps
        out_y = torch.arange(h_out, device=device, dtype=dtype) * self.stride - self.padding
        out_x = torch.arange(w_out, device=device, dtype=dtype) * self.stride - self.padding
        base_y = tap_y.reshape(-1, 1, 1) + out_y.view(1, -1, 1)
        base_x = tap_x.reshape(-1, 1, 1) + out_x.view(1, 1, -1)
        return base_y.expand(-1, h_out, w_out), base_x.expand(-1, h_out, w_out)


class Backbone(nn.Module):
    """Shared backbone: four residual stages over ``(C, F, T)`` and a squeeze module (Fig. 3a; chapter 5).

    Stage ``i``: ``x + ReLU(BN(conv3x3(x)))`` (the 3x3 convolution deformable where
    ``preset.deformable[i]``), then a strided 3x3 convolution to ``widths[i]`` channels with
    BN and ReLU. The squeeze module is a convolution spanning all remaining frequency rows, so
    each frame becomes one D-dimensional vector: ``(B, C, F, T) -> (B, D, T')``.
    """

    def __init__(self, preset: ModelPreset):
        super().__init__()
        channels = (preset.n_channels,) + tuple(preset.widths)
        n_freqs, n_steps = preset.n_freqs, preset.n_frames
        stages = []
        for i, (stride_f, stride_t) in enumerate(preset.strides):
            stages.append(_ResidualStage(channels[i], channels[i + 1], preset.deformable[i], (stride_f, stride_t)))
            n_freqs = (n_freqs - 1) // stride_f + 1  # 3x3 kernel, padding 1
            n_steps = (n_steps - 1) // stride_t + 1
        self.stages = nn.Sequential(*stages)
        self.feature_dim, self.n_steps, self.n_freqs_last = channels[-1], n_steps, n_freqs
        self.squeeze = nn.Sequential(
            nn.Conv2d(channels[-1], channels[-1], kernel_size=(n_freqs, 1)),
            nn.BatchNorm2d(channels[-1]),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.squeeze(self.stages(x)).squeeze(2)


class ShapeDecoder(nn.Module):
    r"""Morphological decoder: one min-max normalised ECG cycle of 200 samples (Fig. 3b; chapter 6).

    Both branches read a compact code of the features, ``c = flatten(ReLU(BN(conv1x1(features))))``.

    - Temporal branch: a linear map to ``width`` channels x 25 steps, three transposed
      convolutions (x2 each, to 200 samples) and a final convolution to one channel.
    - ODE branch (``use_ode``): an MLP predicts 15 unbounded deviations ``u``; the McSharry
      parameters lie in a bounded box around :data:`~radarode_lite.ode.DEFAULT_PARAMS`,
      :math:`a = a_0 (1 + 0.5\tanh u_a)`, :math:`b = b_0 (1 + 0.5\tanh u_b)`,
      :math:`\theta = \theta_0 + (\pi/24)\tanh u_\theta` (:data:`ODE_MAX_REL`,
      :data:`ODE_MAX_SHIFT`; additive for theta because :math:`\theta_R = 0`), the map of
      :func:`~radarode_lite.ode.relative_params`, computed here as one affine map
      ``default + span * tanh(u)``. :func:`~radarode_lite.ode.ecg_ode` draws the beat, which
      is min-max normalised. The last layer starts near zero, so a fresh decoder's ODE beat
      is the textbook ECGSYN beat.
    - Fusion: a learned 1x1 convolution over the two beats, written out as
      ``w_t * temporal + w_o * ode + c``, starting at ``w_t = w_o = 0.5``, ``c = 0``.

    Without the ODE branch the temporal branch is the output.
    """

    def __init__(self, feature_dim: int, n_steps: int, width: int = 8, ode_hidden: int = 32, use_ode: bool = True):
        super().__init__()
        self.use_ode = use_ode
        self.reduce = nn.Sequential(nn.Conv1d(feature_dim, width, 1), nn.BatchNorm1d(width), nn.ReLU())
        code = width * n_steps
        self.width, self.n_latent = width, SHAPE_SAMPLES // 8
        self.to_latent = nn.Sequential(nn.Linear(code, width * self.n_latent), nn.ReLU())
        self.temporal = nn.Sequential(
            *[_up_block(width, width) for _ in range(3)],  # 25 -> 50 -> 100 -> 200
            nn.Conv1d(width, 1, kernel_size=5, padding=2),
        )
        if use_ode:
            self.ode_head = nn.Sequential(nn.Linear(code, ode_hidden), nn.Tanh(), nn.Linear(ode_hidden, 15))
            nn.init.normal_(self.ode_head[-1].weight, std=1e-2)
            nn.init.zeros_(self.ode_head[-1].bias)
            # the learned 1x1 convolution over the two beats, written out: weights (w_t, w_o), bias c
            self.fusion_weight = nn.Parameter(torch.full((2,), 0.5))
            self.fusion_bias = nn.Parameter(torch.zeros(()))
            # relative_params as one affine map of tanh(u): default + span * tanh(u), with
            # span = (a_0 max_rel, b_0 max_rel, max_shift) per wave
            default = DEFAULT_PARAMS.clone().float()
            span = default * ODE_MAX_REL
            span[2::3] = ODE_MAX_SHIFT
            self.register_buffer("ode_default", default, persistent=False)
            self.register_buffer("ode_span", span, persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.components(features)["shape"]

    def components(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate of the decoder, for chapter 6.

        Returns ``{"temporal": (B, 200), "shape": (B, 200)}`` and, with the ODE branch,
        ``"ode_deviation": (B, 15)`` (the MLP's output u), ``"ode_params": (B, 15)`` (McSharry
        parameters) and ``"ode": (B, 200)`` (the normalised ODE beat).
        """
        code = self.reduce(features).flatten(1)
        latent = self.to_latent(code).view(-1, self.width, self.n_latent)
        temporal = self.temporal(latent).squeeze(1)
        out = {"temporal": temporal}
        if not self.use_ode:
            out["shape"] = temporal
            return out
        deviation = self.ode_head(code)
        params = torch.addcmul(self.ode_default, self.ode_span, torch.tanh(deviation))
        beat = minmax_normalise(ecg_ode(params, n_samples=SHAPE_SAMPLES))
        out["ode_deviation"], out["ode_params"], out["ode"] = deviation, params, beat
        w = self.fusion_weight
        out["shape"] = w[0] * temporal + w[1] * beat + self.fusion_bias
        return out


class AnchorDecoder(nn.Module):
    """ECG anchor decoder: the 800-sample R-peak heat map (Fig. 3c; chapter 7).

    A convolution over the T' frames, four transposed convolutions (x2 each: T' -> 16 T'),
    linear resampling to 800 samples (4 s at 200 Hz; the frames and the samples cover the
    same 4 s, so the time axes stay aligned) and a final convolution to one channel.
    """

    def __init__(self, feature_dim: int, n_steps: int, width: int = 16):
        super().__init__()
        self.head = nn.Sequential(
            nn.Conv1d(feature_dim, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
            *[_up_block(width, width) for _ in range(4)],
        )
        self.out = nn.Conv1d(width, 1, kernel_size=7, padding=3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.head(features), size=ANCHOR_SAMPLES, mode="linear", align_corners=False)
        return self.out(up).squeeze(1)


class CycleLengthDecoder(nn.Module):
    r"""Cycle-length decoder: logits over 260 cycle lengths in samples at 200 Hz (Fig. 3d; chapter 8).

    Two 1-D convolutions over the frames (the second strided by 2), then a two-layer classifier
    on the flattened map (``head="flatten"``, the paper's); ``argmax`` of the logits is the
    predicted cycle length. ``head="autocorrelation"`` also feeds the classifier
    :func:`autocorrelation` of the first convolution's output, which peaks at the lag of one
    cycle wherever the beats sit: with a CPU budget of a few hundred steps only that head
    learns across subjects (chapter 8).
    """

    def __init__(self, feature_dim: int, n_steps: int, width: int = 16, hidden: int = 64, head: str = "flatten"):
        super().__init__()
        self.head = _checks.choice(head, "head", CYCLE_HEADS)
        self.conv = nn.Sequential(
            nn.Conv1d(feature_dim, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, 3, stride=2, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
        )
        n_half = (n_steps - 1) // 2 + 1
        n_in = width * n_half + (width * (n_steps - 1) if self.head == "autocorrelation" else 0)
        self.classifier = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, N_CYCLE_CLASSES))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.head == "flatten":
            return self.classifier(self.conv(features).flatten(1))
        h = self.conv[:3](features)
        parts = [self.conv[3:](h).flatten(1), autocorrelation(h).flatten(1)]
        return self.classifier(torch.cat(parts, dim=1))


def autocorrelation(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Normalised autocorrelation of ``h (..., T)`` over the lags ``1 .. T-1``: ``(..., T-1)`` (chapter 8).

    :math:`\rho(\ell) = \overline{\tilde h(t)\,\tilde h(t+\ell)} / (\overline{\tilde h^2} + \epsilon)` with
    :math:`\tilde h = h - \overline h`, the first mean over the ``T - ell`` overlapping frames.
    """
    c = h - h.mean(dim=-1, keepdim=True)
    n = h.shape[-1]
    lagged = torch.stack([(c[..., : n - lag] * c[..., lag:]).mean(dim=-1) for lag in range(1, n)], dim=-1)
    return lagged / (c.pow(2).mean(dim=-1, keepdim=True) + eps)


def minmax_normalise(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Min-max normalise each row of ``x (B, N)`` to [0, 1]: ``(x - min) / (max - min + eps)``."""
    low, high = torch.aminmax(x, dim=-1, keepdim=True)
    return (x - low) / (high - low + eps)


# --------------------------------------------------------------------------- helpers


class _ResidualStage(nn.Module):
    """``x + ReLU(BN(conv(x)))`` then a strided 3x3 convolution, BN and ReLU."""

    def __init__(self, in_ch: int, out_ch: int, deformable: bool, stride: tuple[int, int]):
        super().__init__()
        conv = DeformConv2d(in_ch, in_ch, 3, padding=1, bias=False) if deformable else nn.Conv2d(
            in_ch, in_ch, 3, padding=1, bias=False
        )
        self.residual = nn.Sequential(conv, nn.BatchNorm2d(in_ch), nn.ReLU())
        self.down = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(x + self.residual(x))


def _up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Transposed 1-D convolution doubling the length, BN, ReLU."""
    return nn.Sequential(
        nn.ConvTranspose1d(in_ch, out_ch, kernel_size=4, stride=2, padding=1), nn.BatchNorm1d(out_ch), nn.ReLU()
    )


def _batch_to_group_norm(module: nn.Module) -> None:
    """Replace every BatchNorm1d/2d inside ``module`` by a one-group GroupNorm of the same width."""
    for name, child in module.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(module, name, nn.GroupNorm(1, child.num_features, eps=child.eps))
        else:
            _batch_to_group_norm(child)


def _count(params: Iterator[nn.Parameter]) -> int:
    return sum(p.numel() for p in params if p.requires_grad)
