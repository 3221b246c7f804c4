"""Generate README.md's configuration reference (a wrapper of `python -m bot.config_reference`,
which holds the one table of settings; see its docstring for how to add a key).

    python scripts/config_reference.py           # print the section
    python scripts/config_reference.py --write   # update README.md in place
    python scripts/config_reference.py --check   # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.config_reference import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], readme=ROOT / "README.md"))
