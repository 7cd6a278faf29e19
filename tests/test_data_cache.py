"""Tests of radarode_lite.data.cache: the book's data set, generated once into a cache folder and reused."""

from __future__ import annotations

import json
import shutil

import pytest

from radarode_lite import data


@pytest.fixture(autouse=True)
def _one_thread(torch_one_thread):
    """Every test here on one torch thread (tiny networks; shared CPUs lose a lot with more)."""


@pytest.fixture
def fake_generator(tiny_root, monkeypatch):
    """generate_dataset replaced by a copy of the tiny set; records the folders it wrote."""
    calls = []

    def fake(root, size, preset, seed, progress, **kwargs):
        calls.append(root)
        assert not root.exists() and root.name.startswith(".")  # a hidden temporary sibling
        shutil.copytree(tiny_root, root)

    monkeypatch.setattr(data, "generate_dataset", fake)
    return calls


def _stamp(seed=0):
    return {"size": "small", "preset": "lite", "seed": seed, "fingerprint": data.generator_fingerprint()}


def test_book_dataset_generates_once_then_reuses(tmp_path, fake_generator, monkeypatch):
    monkeypatch.setenv("RADARODE_DATA", str(tmp_path / "cache"))
    assert data.default_cache_dir() == tmp_path / "cache"
    first = data.book_dataset()
    assert first == tmp_path / "cache" / "lite_small_seed0"
    assert len(data.SegmentDataset(first)) == 6
    assert json.loads((first / "book_dataset.json").read_text()) == _stamp()
    assert data.book_dataset() == first
    assert len(fake_generator) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["lite_small_seed0"]  # no temporary left


def test_default_cache_dir_without_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("RADARODE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / ".cache" / "radarode_lite"


def test_book_dataset_regenerates_a_copy_made_by_other_code(tmp_path, fake_generator, tiny_root):
    final = tmp_path / "lite_small_seed0"
    shutil.copytree(tiny_root, final)
    (final / "book_dataset.json").write_text(json.dumps({**_stamp(), "fingerprint": "older"}))
    (final / "stale").write_text("")
    assert data.book_dataset(root=tmp_path) == final
    assert len(fake_generator) == 1 and not (final / "stale").exists()
    assert json.loads((final / "book_dataset.json").read_text()) == _stamp()
    assert [p.name for p in tmp_path.iterdir()] == ["lite_small_seed0"]


def test_book_dataset_uses_the_winner_of_a_race(tmp_path, fake_generator, tiny_root, monkeypatch):
    final = tmp_path / "lite_small_seed0"
    real_fake = data.generate_dataset

    def slow_loser(root, **kwargs):
        real_fake(root, **kwargs)
        shutil.copytree(tiny_root, final)  # another process finished first
        (final / "book_dataset.json").write_text(json.dumps(_stamp()))
        (final / "winner").write_text("")

    monkeypatch.setattr(data, "generate_dataset", slow_loser)
    assert data.book_dataset(root=tmp_path) == final
    assert (final / "winner").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["lite_small_seed0"]


def test_book_dataset_leaves_nothing_behind_when_generation_fails(tmp_path, monkeypatch):
    def broken(root, **kwargs):
        root.mkdir()
        (root / "half").write_text("")
        raise OSError("disk full")

    monkeypatch.setattr(data, "generate_dataset", broken)
    with pytest.raises(OSError, match="disk full"):
        data.book_dataset(root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_book_dataset_rejects_bad_arguments_and_foreign_folders(tmp_path, fake_generator):
    with pytest.raises(ValueError, match="size"):
        data.book_dataset(size="huge", root=tmp_path)
    with pytest.raises(ValueError, match="seed"):
        data.book_dataset(seed=-1, root=tmp_path)
    with pytest.raises(ValueError, match="preset"):
        data.book_dataset(preset="tiny", root=tmp_path)
    (tmp_path / "lite_small_seed1").mkdir()
    (tmp_path / "lite_small_seed1" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="dataset.json"):
        data.book_dataset(seed=1, root=tmp_path)
    assert (tmp_path / "lite_small_seed1" / "notes.txt").exists()
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match="folder"):
        data.book_dataset(root=tmp_path / "afile")
    assert fake_generator == []


@pytest.mark.parametrize("module", ["signals", "noise"])
def test_fingerprint_follows_the_generator_code(monkeypatch, tmp_path, module):
    import importlib

    mod = importlib.import_module(f"radarode_lite.{module}")
    before = data.generator_fingerprint()
    assert before == data.generator_fingerprint() and len(before) == 16
    edited = tmp_path / f"{module}.py"
    edited.write_bytes(open(mod.__file__, "rb").read() + b"\n# edited\n")
    monkeypatch.setattr(mod, "__file__", str(edited))
    assert data.generator_fingerprint() != before

