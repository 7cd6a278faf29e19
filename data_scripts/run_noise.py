"""From a clone: ``radarode-run-noise``, the tool of :mod:`radarode_lite.cli.run_noise`, with the same flags.

    python data_scripts/run_noise.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.run_noise", run_name="__main__")
