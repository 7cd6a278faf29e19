"""From a clone: ``radarode-convert-mmecg``, the tool of :mod:`radarode_lite.cli.convert_mmecg`, with the same flags.

    python data_scripts/convert_mmecg.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.convert_mmecg", run_name="__main__")
