"""radarode_lite: a small, readable implementation of radarODE-MTL.

Radar-based ECG reconstruction decomposed into three tasks (single-cycle ECG shape,
R-peak anchors, cardiac cycle length) and trained with multi-task learning and
eccentric gradient alignment (EGA), after Zhang et al., IEEE TIM 2025.

One module per stage of the pipeline, each taught by a chapter of the book:

- ``signals``     synthetic ECG, chest displacement, radar phase and noise (chapters 1, 4)
- ``timefreq``    synchrosqueezed wavelet transform, anchor localisation, network input (chapter 2)
- ``ode``         McSharry's ECG dynamical model, vectorised and differentiable (chapter 3)
- ``data``        segments, targets, MMECG ``.mat`` files, torch datasets (chapter 4)
- ``models``      shared backbone and the three decoders (chapters 5-8)
- ``losses``      the task losses (chapters 6-8)
- ``mtl``         loss balancing and gradient methods, EGA among them (chapters 9-11)
- ``metrics``     RMSE, PCC, R^2, PPI error, timing error, MDR, delta_m (chapters 6-8, 12)
- ``train``       the book's data set, the training loop with checkpoints, evaluation (chapters 6-8, 12)
- ``distributed`` training across processes with per-task gradients reduced (chapter 12, appendix)
- ``results``     stored experiment results with the metadata that made them (chapters 12-15)
- ``tables``      Table II from stored results: means over seeds, delta_m (chapter 12)
- ``reconstruct`` long-term ECG from beats, anchors and cycle lengths (chapter 13)
- ``robustness``  the frameworks and noise conditions of the robustness study (chapter 14)
- ``plotting``    the figure style and helpers the chapters share
- ``bookdata``    the book's data files and the real ECG excerpt, wherever the book runs (chapters 2-15)

Importing the package imports none of its modules: ``from radarode_lite import signals``.
"""

# The one place for the version, the repository and the book's release (the git tag of this
# version); pyproject.toml reads the version from here and tests/test_meta.py checks that
# _config.yml, CITATION.cff, README.md and the Colab set-up cell agree.
__version__ = "0.1.0"
REPOSITORY = "https://github.com/radarode-mtl-book/radarode-mtl-book"
RELEASE = f"v{__version__}"
