"""CSV exports that a spreadsheet opens safely (CSV / formula injection, CWE-1236).

A resident or a collector types a party's name, an agreement, an honour-roll name or an in-kind gift; an official
opens the export in a spreadsheet, which runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)`` sends the sheet's contents away, DDE runs commands). Every CSV export writes through
``writer`` here, which neutralises such cells the way OWASP recommends: a single quote is put in front, and the
value is otherwise kept intact (the quote shows that the cell was altered, and the spreadsheet shows it as text).

The rule is by type, decided by the code that builds the row, not by sniffing the text:

* a ``str`` cell is text (people typed it, or it may hold what they typed): neutralised when its first
  character - after any leading spaces, which spreadsheets skip - is ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return;
* an ``int``, a ``Decimal``, a ``date``, ``None`` is written as it is: a refund of -500000 đồng stays a number that
  the spreadsheet adds up. Amounts must therefore reach the writer as numbers, never pre-formatted as text.

A dozen lines, so no dependency: ``defusedcsv`` guesses from the text whether a value is a number, where here the
type already says it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as it may go into a CSV file: text that a spreadsheet would run gets a leading single quote."""
    if isinstance(value, str) and value.lstrip(" \u00a0").startswith(TRIGGERS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every row passes through ``neutralise``."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])


def writer(out: TextIO, **kwargs: Any) -> SafeWriter:
    return SafeWriter(out, **kwargs)
