"""From a clone: the tool radarode_lite/cli/generate_data.py (installed: ``radarode-generate-data``)."""

from radarode_lite.cli import _common

exec(_common.script_code("generate_data"), globals())  # this script is the tool: same names, same behaviour
