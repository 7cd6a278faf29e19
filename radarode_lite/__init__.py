"""radarode_lite: a small, readable implementation of radarODE-MTL.

Radar-based ECG reconstruction decomposed into three tasks (single-cycle ECG shape,
R-peak anchors, cardiac cycle length) and trained with multi-task learning and
eccentric gradient alignment (EGA), after Zhang et al., IEEE TIM 2025.

One module (or small subpackage) per stage of the pipeline, each importing only the stages
above it and each taught by a chapter of the book:

- ``conventions`` rates, window, shape samples, PPI classes, wave and task names, metric names
- ``signals``     synthetic ECG, chest displacement, radar phase (chapters 1, 4)
- ``noise``       the noise models: constant and abrupt noise, radar-phase noise (chapters 1, 14)
- ``timefreq``    synchrosqueezed wavelet transform, anchor localisation, network input (chapter 2)
- ``ode``         McSharry's ECG dynamical model, vectorised and differentiable (chapter 3)
- ``data``        MMECG ``.mat`` I/O, targets and segments, the synthetic data set and its
  cache, the torch ``Dataset`` and splits (chapter 4)
- ``models``      shared backbone and the three decoders (chapters 5-8)
- ``losses``      the task losses (chapters 6-8)
- ``mtl``         loss balancing and gradient methods, EGA among them (chapters 9-11)
- ``train``       the one training loop: ``run_epoch`` and ``train`` (chapters 6-8, 12)
- ``checkpoints`` what a run stores to resume, and the check that a resume is the same run
- ``distributed`` training across processes with per-task gradients reduced (chapter 12, appendix)
- ``evaluation``  predictions on a data set and their Table II metrics (chapters 6-8, 12)
- ``metrics``     RMSE, PCC, R^2, PPI error, timing error, MDR, delta_m (chapters 6-8, 12)
- ``reconstruct`` long-term ECG from beats, anchors and cycle lengths (chapter 13)
- ``plotting``    the figure style and helpers the chapters share
- ``bookdata``    the book's data files and the real ECG excerpt, wherever the book runs (chapters 2-15)

Apart from the pipeline, importing it and never imported by it:

- ``studies``     the chapters' experiments: stored results and Table II (chapter 12), the
  noise-robustness frameworks (chapter 14), the second MTL problem (chapter 15)
- ``cli``         the command-line tools (``radarode-train``, ``radarode-run-experiments``, ...)

Private helpers (``_checks`` validators, ``_files`` atomic writes, ``_children`` child
processes, the fast paths ``_timefreq_fast``, ``_ode_fast``, ``_ssq``, ``_polyphase``) serve
the modules above. CONTRIBUTING.md has the full map.

Importing the package imports none of its modules: ``from radarode_lite import signals``.
"""

# The one place for the version, the repository and the book's release (the git tag of this
# version); pyproject.toml reads the version from here and tests/test_meta.py checks that
# _config.yml, CITATION.cff, README.md and the Colab set-up cell agree.
__version__ = "0.1.0"
REPOSITORY = "https://github.com/radarode-mtl-book/radarode-mtl-book"
RELEASE = f"v{__version__}"
