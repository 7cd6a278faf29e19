"""From a clone: ``radarode-generate-data``, the tool of :mod:`radarode_lite.cli.generate_data`, with the same flags.

    python data_scripts/generate_data.py --help
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("radarode_lite.cli.generate_data", run_name="__main__")
