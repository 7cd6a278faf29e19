"""The synthetic MMECG-like data set and the segment folders on disk (chapter 4).

:func:`generate_dataset` simulates subjects and recordings (:mod:`radarode_lite.signals`),
optionally saves each as an MMECG ``.mat`` file (:mod:`radarode_lite.data.mmecg`), adds the
noise of the robustness study (:mod:`radarode_lite.noise`), cuts it into segments
(:mod:`radarode_lite.data.targets`) and writes them with :func:`write_segments`, one folder
per recording, atomically. ``dataset.json``, written first with ``"complete": false`` and
rewritten when the last recording is in place, marks a data set whose generation finished;
the same call finishes an interrupted one.

Augmentations, as in the paper's robustness study, with SNRs relative to the cardiac part of
each channel: ``snr_db`` adds white noise to every radar channel of every recording (constant
noise, Table III; :func:`radarode_lite.noise.add_radar_noise`); ``abrupt = (fraction, snr_db,
(min_s, max_s))`` adds a burst to that fraction of each recording's segments (abrupt noise,
Table V; see :func:`radarode_lite.data.segment_recording`).

Every random draw comes from ``numpy.random.SeedSequence([seed, subject, status index,
repeat])``, split into independent streams for the signals, the constant noise and the
bursts: the same arguments give the same bytes, and adding noise leaves the clean signals
unchanged. A subject's identity comes from ``default_rng([seed, subject])``.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from radarode_lite import __version__, _checks, _files, noise, signals, timefreq
from radarode_lite._checks import positive as _positive
from radarode_lite._checks import real_number as _real
from radarode_lite.conventions import FS, STATUSES, WINDOW_S
from radarode_lite.data.mmecg import _FOLDER_RE, parse_recording_name, recording_name
from radarode_lite.data.targets import Segments

__all__ = ["SIZES", "GENERATOR", "write_segments", "generate_dataset"]

#: Sizes of :func:`generate_dataset`: subjects and seconds per recording (x 4 statuses).
#: ``"small"``: 2 subjects x 4 statuses x 12 s (a few seconds to generate, for notebooks);
#: ``"default"``: 6 subjects x 4 statuses x 30 s (about a minute on 2 CPU cores, lite preset);
#: ``"benchmark"``: 12 subjects x 4 statuses x 20 s with radar channels at -15 to 5 dB SNR
#: (instead of :data:`radarode_lite.signals.CHANNEL_SNR_DB`), the first benchmark of chapter
#: 12's grids and of chapter 8's side-by-side ablations: noisy enough that no task sits at its
#: floor, with enough subjects to hold out four (about 30 s to generate); ``"calibrated"``: 20
#: subjects x 4 statuses x 20 s with radar channels at -19.5 to 0.5 dB, the calibrated
#: benchmark of chapter 12 (its Table II), of chapter 8's ablations and of chapter 14's noise
#: grids, on which the single-task networks land near the paper's single-task row (about a
#: minute to generate).
SIZES = {
    "small": {"n_subjects": 2, "duration_s": 12.0},
    "default": {"n_subjects": 6, "duration_s": 30.0},
    "benchmark": {"n_subjects": 12, "duration_s": 20.0, "channel_snr_db": (-15.0, 5.0)},
    "calibrated": {"n_subjects": 20, "duration_s": 20.0, "channel_snr_db": (-19.5, 0.5)},
}
#: Name and version written into every ``segments.json``.
GENERATOR = f"radarode_lite {__version__}"


def write_segments(folder_root, name, segments, meta=None, overwrite=True) -> Path:
    """Write a recording's segments as ``folder_root/name/`` in the authors' layout, atomically (chapter 4).

    Files: ``sst_seg_{i}.npy`` (C, F, T) float32, ``ecg_seg_{i}.npy`` (800,) float32 mV,
    ``anchor_seg_{i}.npy`` (800,) float32, ``shape_seg_{i}.npy`` (200,) float32 for
    ``i = 0 .. S-1``, and ``segments.json``: cycle lengths (``ppi``), window starts
    (``start_s``), R peaks and target cycles per window (s from the window start), abrupt
    bursts, the preset, ``fs``, the generator, and everything in ``meta`` (the subject, seed ...).

    Everything is written into a hidden temporary folder next to the final one, which is
    renamed into place only when complete (:func:`radarode_lite._files.atomic_folder`); on any
    error the temporary folder is removed and an existing folder of the same name is left as
    it was.

    Parameters
    ----------
    folder_root : str or Path, created if missing.
    name : ``obj{subject}_{status}_{trial}_`` (see :func:`recording_name`).
    segments : :class:`Segments`.
    meta : None or a JSON-serialisable dict, stored in ``segments.json`` (keys ``subject``,
        ``seed``, ``source`` ... are conventional).
    overwrite : replace an existing folder of that name (otherwise FileExistsError).

    Returns
    -------
    Path of the recording's folder.
    """
    parse_recording_name(name)
    if not isinstance(segments, Segments):
        raise TypeError(f"segments must be a Segments (from segment_recording), got {type(segments).__name__}")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be None or a dict, got {type(meta).__name__}")
    root = Path(folder_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists() and not overwrite:
        raise FileExistsError(f"folder {str(final)!r} exists already; pass overwrite=True to replace it")
    info = _segments_info(name, segments, meta)
    text = json.dumps(info, indent=1, sort_keys=True)  # fails early if meta is not serialisable
    n_bytes = 4 * sum(a[0].size for a in (segments.sst, segments.ecg, segments.anchor, segments.shape)) * len(segments)
    _files.check_free_space(root, n_bytes, f"recording {name}")

    def fill(tmp: Path) -> None:
        for i in range(len(segments)):
            np.save(tmp / f"sst_seg_{i}.npy", segments.sst[i].astype(np.float32))
            np.save(tmp / f"ecg_seg_{i}.npy", segments.ecg[i].astype(np.float32))
            np.save(tmp / f"anchor_seg_{i}.npy", segments.anchor[i].astype(np.float32))
            np.save(tmp / f"shape_seg_{i}.npy", segments.shape[i].astype(np.float32))
        (tmp / "segments.json").write_text(text + "\n")

    return _files.atomic_folder(final, fill)


def generate_dataset(root, n_subjects=None, statuses=STATUSES, trials=1, duration_s=None, size="default",
                     preset="lite", seed=0, snr_db=None, abrupt=None, n_channels=50, save_mat=True,
                     mat_format="5", progress=True, overwrite=False, channel_snr_db=None) -> dict:  # fmt: skip
    """Simulate an MMECG-like data set and write it in the segment layout (chapter 4).

    Subjects ``1 .. n_subjects``, each recorded ``trials`` times in each of ``statuses``.
    A subject's identity (age, gender, ECG morphology, cardiac vibrations) is drawn once from
    ``(seed, subject)`` and kept in every status; heart rate, variability and breathing are
    drawn per recording from the status's ranges (:func:`radarode_lite.signals.make_subject`).
    Each recording (:func:`radarode_lite.signals.simulate_recording`, 50 channels at 200 Hz)
    is optionally saved as an MMECG ``.mat`` file ``root/mat/{trial}.mat`` (the clean recording),
    then augmented and segmented (:func:`~radarode_lite.data.targets.segment_recording`) into
    ``root/obj{subject}_{status}_{trial}_/`` (:func:`write_segments`), ``trial`` being the
    recording's running number 1, 2, ... (as MMECG numbers its files). ``root/dataset.json``
    records the arguments; it is written first with ``"complete": false`` and rewritten with
    ``"complete": true`` and the list of recordings when the last one is written, so a data set
    whose generation was interrupted is refused by :func:`list_recordings` (and so by
    :class:`SegmentDataset` and :func:`subject_split`). Called again with the same arguments on
    such a folder, it finishes the work: recordings already written are kept (they would come
    out identical), the others are generated. Leftovers of interrupted writes are removed.

    Augmentations (``snr_db``, ``abrupt``) and random streams: see the module's description.
    ``size`` fills ``n_subjects``, ``duration_s`` and ``channel_snr_db`` when None (:data:`SIZES`).

    Parameters
    ----------
    root : str or Path of the data set's folder (created).
    n_subjects : int >= 1, or None for the size's.
    statuses : sequence of :data:`STATUSES`.
    trials : int >= 1, recordings per subject and status.
    duration_s : s per recording (>= 4), or None for the size's.
    size : ``"small"``, ``"default"``, ``"benchmark"`` or ``"calibrated"`` (:data:`SIZES`).
    preset : spectrogram preset, ``"lite"`` (8 x 32 x 120) or ``"paper"`` (50 x 71 x 120).
    seed : int >= 0.
    snr_db : None or dB of constant noise.
    abrupt : None or ``(fraction, snr_db, (min_s, max_s))``.
    n_channels : radar channels simulated (MMECG: 50).
    channel_snr_db : None (the size's) or ``(low, high)`` dB, the radar channels' own SNR range.
    save_mat : also write the ``.mat`` files.
    mat_format : ``"5"`` or ``"7.3"``; progress : show a tqdm progress bar.
    overwrite : replace the recordings, ``mat/`` and ``dataset.json`` of an earlier data set
        in ``root`` (otherwise a non-empty ``root`` raises FileExistsError, except an unfinished
        data set of the same arguments, which is completed).

    Returns
    -------
    dict: ``root``, ``recordings`` (folder names), ``n_recordings``, ``n_segments``,
    ``duration_s`` (simulated seconds in all) and ``wall_s`` (seconds it took).
    """
    from tqdm.auto import tqdm

    began = time.perf_counter()
    arguments, spec, abrupt = _generation_arguments(n_subjects, statuses, trials, duration_s, size, preset, seed,
                                                    snr_db, abrupt, n_channels, save_mat, mat_format,
                                                    channel_snr_db)  # fmt: skip
    root = Path(root)
    resuming = _open_root(root, arguments, overwrite)
    jobs = [(subj, status, rep) for subj in range(1, arguments["n_subjects"] + 1) for status in arguments["statuses"]
            for rep in range(arguments["trials"])]  # fmt: skip
    names, n_segments = [], 0
    bar = tqdm(jobs, desc="recordings", unit="rec", disable=not progress)
    for trial, (subj, status, rep) in enumerate(bar, start=1):
        name = recording_name(subj, status, trial)
        done = _finished_recording(root, name, f"mat/{trial}.mat" if save_mat else None) if resuming else None
        if done is None:
            done = _generate_recording(root, name, arguments, spec, abrupt, (subj, status, rep, trial), resuming)
        names.append(name)
        n_segments += done
        bar.set_postfix(segments=n_segments)
    bar.close()
    info = {**arguments, "recordings": names, "n_segments": n_segments, "complete": True}
    _atomic_write_text(root / "dataset.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
    return {
        "root": str(root),
        "recordings": names,
        "n_recordings": len(names),
        "n_segments": n_segments,
        "duration_s": arguments["duration_s"] * len(names),
        "wall_s": time.perf_counter() - began,
    }


# ---------------------------------------------------------------------------------------
# Internal functions
# ---------------------------------------------------------------------------------------


def _open_root(root: Path, arguments: dict, overwrite: bool) -> bool:
    """Make ``root`` ready and mark it unfinished; whether an unfinished data set of ``arguments`` is resumed."""
    resuming = not overwrite and _unfinished_with(root, arguments)
    if not resuming:
        _prepare_root(root, overwrite)
    for folder in (root, root / "mat"):
        _files.remove_leftovers(folder)
    _atomic_write_text(root / "dataset.json", json.dumps({**arguments, "complete": False}, indent=1) + "\n")
    return resuming


def _segments_info(name, segments, meta) -> dict:
    """The content of a recording's ``segments.json``: ``meta`` and the segments' bookkeeping."""
    info = dict(meta or {})
    info.update(
        name=name,
        generator=GENERATOR,
        preset=segments.preset,
        fs=float(segments.fs),
        window_s=float(segments.window_s),
        hop_s=float(segments.hop_s),
        n_segments=len(segments),
        sst_shape=list(segments.sst.shape[1:]),
        ppi=[int(v) for v in segments.ppi],
        start_s=[float(v) for v in segments.start_s],
        r_peaks_s=[[float(v) for v in p] for p in segments.r_peaks_s],
        cycle_s=[[float(v) for v in c] for c in segments.cycle_s],
        abrupt=list(segments.abrupt),
        skipped_s=[float(v) for v in segments.skipped_s],
    )
    return info


def _generation_arguments(n_subjects, statuses, trials, duration_s, size, preset, seed, snr_db, abrupt, n_channels,
                          save_mat, mat_format, channel_snr_db=None) -> tuple:  # fmt: skip
    """The checked arguments of :func:`generate_dataset` as recorded in ``dataset.json``, the preset, ``abrupt``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    n_subjects = SIZES[size]["n_subjects"] if n_subjects is None else _checks.integer(n_subjects, "n_subjects", low=0)
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be >= 1, got {n_subjects}")
    duration_s = SIZES[size]["duration_s"] if duration_s is None else _positive(duration_s, "duration_s")
    if duration_s < WINDOW_S:
        raise ValueError(f"duration_s must be at least one window ({WINDOW_S} s), got {duration_s}")
    if isinstance(statuses, str) or not all(s in STATUSES for s in statuses) or len(statuses) == 0:
        raise ValueError(f"statuses must be a non-empty sequence of {STATUSES}, got {statuses!r}")
    if len(set(statuses)) != len(statuses):
        raise ValueError(f"statuses must not repeat, got {statuses!r}")
    trials = _checks.integer(trials, "trials", low=0)
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    seed = _checks.integer(seed, "seed", low=0)
    spec = timefreq.get_preset(preset)
    if snr_db is not None:
        snr_db = _real(snr_db, "snr_db")
    abrupt = noise._check_abrupt(abrupt, WINDOW_S)
    if channel_snr_db is None:
        channel_snr_db = SIZES[size].get("channel_snr_db", signals.CHANNEL_SNR_DB)
    channel_snr_db = list(signals._snr_range(channel_snr_db))
    if mat_format not in ("5", "7.3"):
        raise ValueError(f"mat_format must be '5' or '7.3', got {mat_format!r}")
    arguments = {"generator": GENERATOR, "seed": seed, "preset": spec.name, "n_subjects": n_subjects,
                 "statuses": list(statuses), "trials": trials, "duration_s": float(duration_s),
                 "n_channels": n_channels, "channel_snr_db": channel_snr_db, "snr_db": snr_db, "save_mat": bool(save_mat), "mat_format": mat_format,
                 "abrupt": None if abrupt is None else [abrupt[0], abrupt[1], list(abrupt[2])]}  # fmt: skip
    return arguments, spec, abrupt


def _generate_recording(root: Path, name, arguments, spec, abrupt, job, overwrite) -> int:
    """Simulate, save, augment, segment and write one recording; the number of its segments.

    ``job = (subject, status, repeat, trial)``.
    The subject's identity (age, gender, morphology, vibrations) comes from
    ``default_rng([seed, subj])``; the signals, the constant noise and the bursts from three
    streams spawned by ``SeedSequence([seed, subj, status index, rep])``.
    """
    subj, status, rep, trial = job
    seed, duration_s, save_mat, snr_db = (arguments[k] for k in ("seed", "duration_s", "save_mat", "snr_db"))
    steps = _package()
    identity = signals.make_subject(subj, "NB", rng=np.random.default_rng([seed, subj]))
    streams = np.random.SeedSequence([seed, subj, STATUSES.index(status), rep]).spawn(3)
    sim_rng, noise_rng, burst_rng = (np.random.default_rng(s) for s in streams)
    subject = replace(
        signals.make_subject(subj, status, rng=sim_rng),
        age=identity.age, gender=identity.gender, morphology=identity.morphology, vibration=identity.vibration,
    )  # fmt: skip
    rec = signals.simulate_recording(subject, duration_s, arguments["n_channels"], FS, rng=sim_rng,
                                     channel_snr_db=arguments["channel_snr_db"])  # fmt: skip
    if save_mat:
        steps.save_mmecg_mat(root / "mat" / f"{trial}.mat", rec.rcg, rec.ecg, subj, subject.age, subject.gender,
                             status, format=arguments["mat_format"])  # fmt: skip
    rcg = rec.rcg if snr_db is None else steps.add_radar_noise(rec.rcg, snr_db, FS, rng=noise_rng)
    segs = steps.segment_recording(rcg, rec.ecg, FS, spec, r_peaks_s=rec.r_peaks, abrupt=abrupt, rng=burst_rng)
    meta = {
        "subject": _subject_meta(subject),
        "trial": trial,
        "repeat": rep,
        "seed": seed,
        "source": "synthetic",
        "duration_s": duration_s,
        "snr_db": snr_db,
        "abrupt_config": arguments["abrupt"],
        "mat": f"mat/{trial}.mat" if save_mat else None,
    }
    steps.write_segments(root, name, segs, meta, overwrite=overwrite)
    return len(segs)


def _package():
    """The :mod:`radarode_lite.data` package: the steps are looked up there, so that replacing one
    there (``data.write_segments = ...``, as the tests do) reaches :func:`generate_dataset`."""
    from radarode_lite import data

    return data


def _subject_meta(subject) -> dict:
    return {
        "id": int(subject.id),
        "age": int(subject.age),
        "gender": subject.gender,
        "status": subject.status,
        "heart_rate_bpm": float(subject.heart_rate_bpm),
        "hrv_std_s": float(subject.hrv_std_s),
        "resp_rate_hz": float(subject.resp_rate_hz),
        "resp_amplitude_m": float(subject.resp_amplitude_m),
        "resp_irregularity": float(subject.resp_irregularity),
    }


def _prepare_root(root: Path, overwrite: bool) -> None:
    """Create ``root``; refuse a non-empty one unless ``overwrite`` (then clear our own files)."""
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"root {str(root)!r} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    entries = [p for p in root.iterdir()]
    if not entries:
        return
    if not overwrite:
        raise FileExistsError(f"root {str(root)!r} is not empty; choose another folder or pass overwrite=True")
    for p in entries:
        if p.is_dir() and (_FOLDER_RE.fullmatch(p.name) or p.name == "mat"):
            shutil.rmtree(p)
        elif p.name == "dataset.json":
            p.unlink()


def _atomic_write_text(path: Path, text: str) -> None:
    _files.atomic_write(path, lambda tmp: Path(tmp).write_text(text))

def _unfinished_with(root: Path, arguments: dict) -> bool:
    """Whether ``root`` holds a data set of these ``arguments`` whose generation did not finish."""
    try:
        info = json.loads((root / "dataset.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("complete") is False and {k: info.get(k) for k in arguments} == arguments


def _finished_recording(root: Path, name: str, mat) -> int | None:
    """Number of segments of a recording already written completely (and its ``.mat`` file), else None."""
    try:
        info = json.loads((root / name / "segments.json").read_text())
    except (OSError, ValueError):
        return None
    if mat is not None and not (root / mat).is_file():
        return None
    return info.get("n_segments") if isinstance(info, dict) and isinstance(info.get("n_segments"), int) else None
