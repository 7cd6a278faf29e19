"""From a clone: ``radarode-run-experiments``, the tool of :mod:`radarode_lite.cli.run_experiments`, with the same flags.

    python data_scripts/run_experiments.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.run_experiments", run_name="__main__")
