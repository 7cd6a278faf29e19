"""From a clone: ``radarode-run-digits``, the tool of :mod:`radarode_lite.cli.run_digits`, with the same flags.

    python data_scripts/run_digits.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.run_digits", run_name="__main__")
