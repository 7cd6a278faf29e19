"""Bad inputs to the public API, drawn by hypothesis: a clear ValueError or TypeError, fast, never a hang.

Each case is a valid call with one argument replaced by something no caller should pass: NaN,
infinities, text that looks like a number, empty or ragged arrays, the wrong number of
dimensions, the wrong dtype, or sizes that would ask for gigabytes.
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radarode_lite import data, metrics, reconstruct, train
from radarode_lite.studies import results
from radarode_lite.models import RadarODEMTL

FUZZ = settings(max_examples=25, deadline=datetime.timedelta(seconds=2), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip

NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, np.float64("nan")])
TEXT = st.sampled_from(["200", "1e3", "nan", "", b"5"])
NOT_A_NUMBER = st.sampled_from([None, [1.0, 2.0], {"fs": 200}, object(), np.zeros(3)])
HUGE = st.one_of(st.floats(min_value=1e9, max_value=1e300), st.integers(min_value=10**9, max_value=10**30))
NOT_POSITIVE = st.one_of(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False), st.integers(max_value=0))
BAD_SCALAR = st.one_of(NOT_FINITE, TEXT, NOT_A_NUMBER, NOT_POSITIVE)

BAD_ARRAY = st.one_of(
    st.just([]),
    st.just(np.zeros(0)),
    st.lists(st.sampled_from(["1", "2.5", "x"]), min_size=1, max_size=5),
    st.just(np.array(["1.0", "2.0", "3.0"])),
    st.lists(NOT_FINITE, min_size=1, max_size=5).map(lambda v: np.r_[np.ones(4), v]),
    st.just([[1.0, 2.0], [3.0]]),
    st.just(None),
    TEXT,
)


def _raises_clearly(call):
    """``call()`` raises ValueError or TypeError whose message is one line."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value) and "\n" not in str(info.value).strip()


BEAT = np.sin(np.linspace(0, np.pi, 200))


@FUZZ
@given(bad=BAD_ARRAY, which=st.sampled_from(["pred", "true"]))
def test_metrics_of_bad_arrays(bad, which):
    good = np.linspace(0, 1, 5)
    args = {"pred": good, "true": good, which: bad}
    for fn in (metrics.rmse, metrics.pcc, metrics.r2):
        _raises_clearly(lambda: fn(**args))


@FUZZ
@given(fs=BAD_SCALAR)
def test_metrics_of_bad_sampling_rates(fs):
    _raises_clearly(lambda: metrics.ppi_error_ms([100, 120], [110, 118], fs=fs))
    _raises_clearly(lambda: metrics.detect_anchors(np.r_[np.zeros(50), 1.0, np.zeros(50)], fs=fs))


@FUZZ
@given(heatmap=st.one_of(BAD_ARRAY, st.just(np.zeros((2, 3, 4)))))
def test_detect_anchors_of_bad_heat_maps(heatmap):
    _raises_clearly(lambda: metrics.detect_anchors(heatmap))


@FUZZ
@given(length=st.one_of(BAD_SCALAR, HUGE, st.floats(min_value=-1.0, max_value=1.0)))
def test_resample_cycle_of_bad_lengths(length):
    _raises_clearly(lambda: reconstruct.resample_cycle(BEAT, length))


@FUZZ
@given(shape=st.one_of(BAD_ARRAY, st.just(np.zeros((2, 200))), st.just([1.0])))
def test_resample_cycle_of_bad_beats(shape):
    _raises_clearly(lambda: reconstruct.resample_cycle(shape, 180.0))


@FUZZ
@given(n=st.one_of(HUGE, NOT_POSITIVE, TEXT, st.just(800.0), st.just(True)),
       fs=st.one_of(st.just(200.0), BAD_SCALAR))  # fmt: skip
def test_stitch_beats_of_bad_sizes(n, fs):
    _raises_clearly(lambda: reconstruct.stitch_beats(BEAT[None], [1.0], [180.0], n_samples=n, fs=fs))


@FUZZ
@given(duration=st.one_of(BAD_SCALAR, st.floats(min_value=1e6, max_value=1e300)))
def test_reconstruct_from_windows_of_bad_durations(duration):
    heat = np.zeros(800)
    heat[[100, 300, 500, 700]] = 1.0
    predictions = {"shape": BEAT[None], "anchor": heat[None], "ppi": [180.0]}
    _raises_clearly(lambda: reconstruct.reconstruct_from_windows(predictions, [0.0], duration))


@FUZZ
@given(slot=st.sampled_from(["step", "total_steps", "warmup_steps", "final_lr_ratio"]),
       bad=st.one_of(NOT_FINITE, TEXT, NOT_A_NUMBER, st.integers(max_value=-1), st.floats(1e9, 1e300)))  # fmt: skip
def test_lr_factor_of_bad_arguments(slot, bad):
    args = {"step": 3, "total_steps": 10, "warmup_steps": 2, "schedule": "cosine", "final_lr_ratio": 0.01, slot: bad}
    _raises_clearly(lambda: train.lr_factor(**args))


@FUZZ
@given(slot=st.sampled_from(["seed", "wall_s", "command", "metrics"]),
       bad=st.one_of(NOT_FINITE, TEXT, NOT_A_NUMBER, st.integers(max_value=-1)))  # fmt: skip
def test_save_result_of_bad_metadata(tmp_path_factory, slot, bad):
    if (slot == "command" and isinstance(bad, str) and bad.strip()) or (slot == "metrics" and isinstance(bad, dict)):
        return  # any non-empty text is a command line, any mapping holds metrics
    folder = tmp_path_factory.mktemp("fuzz")
    args = {"metrics": {"pcc": 1.0}, "config": {}, "seed": 0, "command": "cmd", "wall_s": 1.0, slot: bad}
    _raises_clearly(lambda: results.save_result(folder / "r.json", git_commit_hash="unknown", machine={},
                                                timestamp_utc="2025-01-01T00:00:00Z", **args))  # fmt: skip
    assert not list(folder.iterdir())  # nothing written


@FUZZ
@given(slot=st.sampled_from(["rcg", "snr_db"]),
       bad=st.one_of(BAD_ARRAY, NOT_FINITE, TEXT))  # fmt: skip
def test_add_radar_noise_of_bad_inputs(slot, bad):
    args = {"rcg": np.ones((400, 2)), "snr_db": 0.0, slot: bad}
    _raises_clearly(lambda: data.add_radar_noise(**args, rng=0))


@pytest.fixture(scope="module")
def network():
    return RadarODEMTL("lite", seed=0).eval()


@FUZZ
@given(dtype=st.sampled_from([torch.float64, torch.float16, torch.int32, torch.bool]),
       shape=st.sampled_from([(1, 8, 32, 120), (8, 32, 120), (1, 8, 32, 60), (0, 8, 32, 120)]))  # fmt: skip
def test_network_input_of_another_dtype_or_shape(network, dtype, shape):
    if dtype == torch.float32 and shape == (1, 8, 32, 120):
        return
    _raises_clearly(lambda: network(torch.zeros(shape, dtype=dtype)))
