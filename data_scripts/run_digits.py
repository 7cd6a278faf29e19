"""From a clone: the tool radarode_lite/cli/run_digits.py (installed: ``radarode-run-digits``)."""

from radarode_lite.cli import _common

exec(_common.script_code("run_digits"), globals())  # this script is the tool: same names, same behaviour
