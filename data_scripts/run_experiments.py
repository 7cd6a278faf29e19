"""From a clone: the tool radarode_lite/cli/run_experiments.py (installed: ``radarode-run-experiments``)."""

from radarode_lite.cli import _common

exec(_common.script_code("run_experiments"), globals())  # this script is the tool: same names, same behaviour
