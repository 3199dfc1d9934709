"""The previous planner (v1), rebuilt from git history so a benchmark can measure it in the
same run as the current one.

``load_v1()`` writes the files of ``core/planner/`` as they were at :data:`V1_COMMIT` into a
temporary package ``planner_v1`` (their relative imports of the core, ``from ..plan import``,
made absolute: ``from lamworks.plan import``) and imports it. Nothing is copied into the tree,
so the old rules do not live on in the repository's current code. Needs the git history
(a clone, not an export).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = ["V1_COMMIT", "load_v1"]

V1_COMMIT = "c015045"
"""The last commit of planner v1 (before the learned router and typed dialog state)."""

_FILES = ("__init__.py", "delex.py", "fields.py", "planner.py", "router.py", "slots.py",
          "temporal.py", "calibration.json")
REPO = Path(__file__).resolve().parents[1]


def load_v1() -> ModuleType:
    """The ``planner_v1`` package (``planner_v1.NeuroSymbolicPlanner`` and friends)."""
    if "planner_v1" in sys.modules:
        return sys.modules["planner_v1"]
    root = Path(tempfile.mkdtemp(prefix="lamworks-planner-v1-"))
    package = root / "planner_v1"
    package.mkdir()
    for name in _FILES:
        text = subprocess.run(["git", "show", f"{V1_COMMIT}:core/planner/{name}"], cwd=REPO,
                              check=True, capture_output=True, text=True).stdout
        if name.endswith(".py"):
            text = re.sub(r"^(\s*)from \.\.(\w+) import", r"\1from lamworks.\2 import", text,
                          flags=re.M)
        (package / name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module("planner_v1")
