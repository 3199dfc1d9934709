"""The default planner (import ``lamworks.planner``): router, slot filler, dialog, chainer.

Offline, CPU only, no LLM. See :class:`NeuroSymbolicPlanner` for the order in which an
utterance is handled, and ``bench/planner.py`` for how well it does.
"""

from __future__ import annotations

from .planner import NeuroSymbolicPlanner
from .router import DEFAULT_CALIBRATION, Calibration, Route, Router
from .slots import Filled, SlotFiller

__all__ = [
    "DEFAULT_CALIBRATION",
    "Calibration",
    "Filled",
    "NeuroSymbolicPlanner",
    "Route",
    "Router",
    "SlotFiller",
]
