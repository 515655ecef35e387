"""`make run` stops everything it started even when nobody reads its output any more (a closed terminal, a test
that gave up): a BrokenPipeError on its "stopping" line once left a whole platform running."""

from __future__ import annotations

import io
import os

from shared.devstack import __main__ as devstack


def test_a_line_to_a_closed_pipe_is_dropped_not_raised(monkeypatch):
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    out = io.TextIOWrapper(os.fdopen(write, "wb"), write_through=True)
    monkeypatch.setattr("sys.stdout", out)
    devstack._say("stopping")  # raised BrokenPipeError before
    monkeypatch.undo()
    try:
        out.close()
    except OSError:
        pass
