"""From a clone: the tool radarode_lite/cli/convert_mmecg.py (installed: ``radarode-convert-mmecg``)."""

from radarode_lite.cli import _common

exec(_common.script_code("convert_mmecg"), globals())  # this script is the tool: same names, same behaviour
