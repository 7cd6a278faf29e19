"""From a clone: the tool radarode_lite/cli/run_noise.py (installed: ``radarode-run-noise``)."""

from radarode_lite.cli import _common

exec(_common.script_code("run_noise"), globals())  # this script is the tool: same names, same behaviour
