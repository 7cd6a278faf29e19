"""Book data files found wherever the book runs, the shipped MIT-BIH excerpt, and the R-peak
detector checked on it against an independent detector (sleepecg)."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from radarode_lite import RELEASE, bookdata, data

# ---------------------------------------------------------------------------------------
# book_file
# ---------------------------------------------------------------------------------------


def test_book_file_finds_the_checkout_files_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository: found beside the (editable) package
    table = bookdata.book_file("paper/table2_optimisers.csv")
    assert table.is_file() and table.parts[-4:] == ("book", "data", "paper", "table2_optimisers.csv")
    assert bookdata.book_file("results/benchmark/table2").is_dir()
    assert bookdata.book_file() == table.parents[1]


def test_book_file_falls_back_to_the_installed_copy(tmp_path, monkeypatch):
    installed = tmp_path / "book_data"
    (installed / "paper").mkdir(parents=True)
    (installed / "paper" / "only_here.csv").write_text("a\n1\n")
    monkeypatch.setattr(bookdata, "INSTALLED", installed)
    assert bookdata.book_file("paper/only_here.csv") == installed / "paper" / "only_here.csv"


def test_book_file_prefers_a_checkout_found_from_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    (tmp_path / "book" / "data" / "paper").mkdir(parents=True)
    (tmp_path / "book" / "data" / "paper" / "mine.csv").write_text("a\n")
    monkeypatch.chdir(tmp_path / "book")
    monkeypatch.setattr(bookdata, "PACKAGE", tmp_path / "elsewhere" / "radarode_lite")
    assert bookdata.book_file("paper/mine.csv").resolve() == (tmp_path / "book/data/paper/mine.csv").resolve()


def test_missing_file_names_it_and_says_what_to_do(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(FileNotFoundError, match=r"'paper/no_such\.csv'.*pip install radarode-lite=="):
        bookdata.book_file("paper/no_such.csv")


def test_on_colab_a_missing_file_is_downloaded_from_the_release(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.setenv("RADARODE_DATA", str(tmp_path))
    fetched = []

    def fake_retrieve(url, target):
        fetched.append(url)
        target.write_text("method\n")

    monkeypatch.setattr(bookdata.urllib.request, "urlretrieve", fake_retrieve)
    path = bookdata.book_file("paper/new_table.csv")
    assert path == tmp_path / "book_data" / RELEASE / "paper" / "new_table.csv" and path.read_text() == "method\n"
    assert fetched == [bookdata.release_url("paper/new_table.csv")] and f"/{RELEASE}/book/data/paper/" in fetched[0]
    assert "downloaded" in capsys.readouterr().out
    assert bookdata.book_file("paper/new_table.csv") == path and len(fetched) == 1  # cached


def test_paper_table_loaders_default_to_the_book_files():
    from radarode_lite.studies import robustness
    from radarode_lite.studies import table2 as tables

    paper = bookdata.book_file("paper")
    assert tables.read_paper_table2() == tables.read_paper_table2(paper / "table2_optimisers.csv")
    default, explicit = robustness.read_paper_tables(), robustness.read_paper_tables(paper)
    assert default.keys() == explicit.keys() and len(default) > 10


@pytest.mark.parametrize("bad, error", [(3, TypeError), ("/etc/passwd", ValueError), ("../README.md", ValueError)])
def test_book_file_refuses_bad_names(bad, error):
    with pytest.raises(error, match="name"):
        bookdata.book_file(bad)


def test_check_colab_runtime_reports_a_module_replaced_after_import(monkeypatch, capsys):
    assert bookdata.check_colab_runtime() == [] and capsys.readouterr().out == ""
    monkeypatch.setattr(np, "__version__", "1.0.0")
    assert bookdata.check_colab_runtime() == ["numpy"]
    assert "Restart the runtime" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# The MIT-BIH excerpt and the R-peak detector
# ---------------------------------------------------------------------------------------


def test_mitbih_excerpt_is_five_minutes_of_mlii_in_mv():
    ecg, fs = bookdata.mitbih_excerpt()
    assert fs == 360 and ecg.shape == (5 * 60 * 360,) and ecg.dtype == np.float64
    assert np.allclose(ecg * 200, np.round(ecg * 200))  # 200 ADC units per mV, stored losslessly
    assert 0.5 < np.percentile(ecg, 99.9) < 5 and np.median(np.abs(ecg)) < 0.5  # mV, not ADC units


def _match(reference, found, tolerance_s):
    """One-to-one matches (index in reference, index in found) within ``tolerance_s``, nearest first."""
    pairs = sorted(
        (abs(f - r), i, j) for i, r in enumerate(reference) for j in np.flatnonzero(np.abs(found - r) <= tolerance_s)
        for f in [found[j]]
    )
    used_i, used_j, matches = set(), set(), []
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i), used_j.add(j), matches.append((i, j))
    return matches


def test_r_peak_detector_agrees_with_sleepecg_on_real_ecg_with_ectopic_beats():
    """Agreement of ``data.detect_r_peaks`` with sleepecg's ``detect_heartbeats`` on MIT-BIH 208.

    Matched within 150 ms (the usual beat-detection tolerance). Measured: 478 reference and
    473 detected beats, sensitivity 94.8 %, PPV 95.8 %, timing difference 2.8 ms (one sample)
    at the median and the 95th percentile; on the 86 premature beats (RR below 85 % of the local
    mean, mostly PVCs in record 208) sensitivity 87.2 %. Run with ``-s`` to print them.
    """
    sleepecg = pytest.importorskip("sleepecg")
    ecg, fs = bookdata.mitbih_excerpt()
    reference = sleepecg.detect_heartbeats(ecg, fs) / fs
    found = data.detect_r_peaks(ecg, fs)
    matches = _match(reference, found, 0.15)
    sensitivity, ppv = len(matches) / len(reference), len(matches) / len(found)
    timing_ms = np.abs([found[j] - reference[i] for i, j in matches]) * 1e3
    rr = np.diff(reference)
    premature = 1 + np.flatnonzero(rr < 0.85 * np.convolve(rr, np.ones(9) / 9, mode="same"))
    hit = {i for i, _ in matches}
    premature_sensitivity = np.mean([i in hit for i in premature])
    print(
        f"\nR peaks on MIT-BIH 208: {len(reference)} sleepecg, {len(found)} ours; sensitivity {sensitivity:.3f}, "
        f"PPV {ppv:.3f}, timing |diff| median {np.median(timing_ms):.1f} ms, 95th pct "
        f"{np.percentile(timing_ms, 95):.1f} ms; {len(premature)} premature beats, sensitivity {premature_sensitivity:.3f}"
    )
    assert len(premature) > 50  # the excerpt does hold many ectopic beats
    assert sensitivity > 0.93 and ppv > 0.93
    assert premature_sensitivity > 0.85
    assert np.median(timing_ms) <= 1e3 / fs + 1e-6 and np.percentile(timing_ms, 95) < 10


def test_no_chapter_reads_data_by_a_path_relative_to_the_book_folder():
    """Such a path works only in a clone run from book/; chapters use bookdata.book_file instead."""
    relative = re.compile(r"""["'](?:\.\./)?(?:book/)?data/[^"']*["']""")
    for path in sorted((Path(__file__).resolve().parents[1] / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        found = [m.group() for src in code for m in relative.finditer(src)]
        assert not found, f"{path.name} reads {found}: use radarode_lite.bookdata.book_file"
