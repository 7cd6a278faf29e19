"""From a clone: ``radarode-train``, the tool of :mod:`radarode_lite.cli.train`, with the same flags.

    python data_scripts/train.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.train", run_name="__main__")
