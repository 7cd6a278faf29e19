"""The package's command-line tools, one module each, each with ``main(argv=None) -> int``.

- ``radarode-generate-data`` (:mod:`radarode_lite.cli.generate_data`): the synthetic data set (chapter 4);
- ``radarode-convert-mmecg`` (:mod:`radarode_lite.cli.convert_mmecg`): MMECG files to segments (chapter 4);
- ``radarode-train`` (:mod:`radarode_lite.cli.train`): one training run (chapters 12-14);
- ``radarode-run-experiments`` (:mod:`radarode_lite.cli.run_experiments`): the grids (chapters 12, 14, 15);
- ``radarode-run-noise`` (:mod:`radarode_lite.cli.run_noise`): the noise robustness study (chapter 14);
- ``radarode-run-digits`` (:mod:`radarode_lite.cli.run_digits`): the damaged-digits problem (chapter 15).

Each is also ``python -m radarode_lite.cli.<module>``; in a clone of the book,
``python data_scripts/<module>.py`` runs the same code. Every tool shares one flag vocabulary
(``--out``, ``--overwrite``, ``--no-progress``, ``--threads`` (default 1), ``--seed`` /
``--seeds``, ``--epochs``, ``--data``, ``--only``) and answers ``--help`` without importing torch.
Where a tool stores results by default, the default is the checkout's ``book/data/results/...``
when run from a clone, else ``./results/...`` in the current folder
(:func:`radarode_lite.cli._common.results_root`); ``--out`` always overrides it.
"""

#: The tools, by module name (``radarode-`` + the name with dashes is the console script).
TOOLS = ("train", "generate_data", "convert_mmecg", "run_experiments", "run_noise", "run_digits")
