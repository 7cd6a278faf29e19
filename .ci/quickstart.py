"""Print the README's quick-start commands, so that CI runs exactly what a reader runs.

    python3 .ci/quickstart.py install   # the first command (install + build the book)
    python3 .ci/quickstart.py test      # the second command (run all tests)

The quick start is the first ```bash block after the "## Quick start" heading of README.md and
must hold exactly two commands.
"""

import re
import sys
from pathlib import Path

text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
section = text.split("## Quick start", 1)
if len(section) != 2:
    sys.exit("README.md has no '## Quick start' section")
block = re.search(r"```bash\n(.*?)```", section[1], re.S)
if block is None:
    sys.exit("README.md's quick start has no ```bash block")
commands = [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
if len(commands) != 2:
    sys.exit(f"README.md's quick start must hold exactly two commands, found {len(commands)}")
which = sys.argv[1] if len(sys.argv) > 1 else ""
if which not in ("install", "test"):
    sys.exit("usage: quickstart.py install|test")
print(commands[0] if which == "install" else commands[1])
