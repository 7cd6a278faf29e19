"""radarode_lite.data is a package of one module per concern; every name of the former module stays reachable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from radarode_lite import conventions, data, noise

OLD_PUBLIC = [
    "FS", "STATUSES", "WINDOW_S", "HOP_S", "SHAPE_SAMPLES", "PPI_CLASSES", "R_FRACTION", "ANCHOR_SIGMA_SAMPLES",
    "SIZES", "CARDIAC_HIGHPASS_HZ", "GENERATOR", "recording_name", "parse_recording_name", "save_mmecg_mat",
    "load_mmecg_mat", "detect_r_peaks", "cycle_bounds", "shape_target", "ppi_target", "anchor_heatmap",
    "window_targets", "Segments", "add_radar_noise", "segment_recording", "write_segments", "generate_dataset",
    "list_recordings", "dataset_fingerprint", "SegmentDataset", "subject_split",
]  # fmt: skip


@pytest.mark.parametrize("name", OLD_PUBLIC + ["book_dataset", "default_cache_dir", "generator_fingerprint"])
def test_every_public_name_is_exported(name):
    assert name in data.__all__ and getattr(data, name) is not None



def test_conventions_are_the_shared_ones():
    for name in ("FS", "STATUSES", "WINDOW_S", "HOP_S", "SHAPE_SAMPLES", "PPI_CLASSES", "R_FRACTION",
                 "ANCHOR_SIGMA_SAMPLES", "CARDIAC_HIGHPASS_HZ"):  # fmt: skip
        assert getattr(data, name) == getattr(conventions, name)
    assert data.add_radar_noise is noise.add_radar_noise


def test_the_data_package_imports_no_later_stage():
    code = ("import sys; from radarode_lite import data; "
            "print(sorted(m for m in ('radarode_lite.train', 'radarode_lite.models', 'radarode_lite.studies') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
