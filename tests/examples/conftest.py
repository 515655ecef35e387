"""The example subscriber is a program of its own (examples/neighbour-ward), not a package of the platform: its
tests import it from its folder, as its README runs it."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "neighbour-ward"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))
