"""From a clone: the tool radarode_lite/cli/train.py (installed: ``radarode-train``)."""

from radarode_lite.cli import _common

exec(_common.script_code("train"), globals())  # this script is the tool: same names, same behaviour
