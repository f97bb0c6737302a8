"""A problem found in one row of an imported file: reported to the uploader, not raised.

Importers (regions, people, institutions) read a whole file, keep the good rows and hand back
one ``RowProblem`` per rejected row, so a clerk can fix the file and upload it again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowProblem:
    """Why one row was rejected.

    ``line`` is the 1-based line number in the uploaded file (where the row starts), ``reason``
    is an English sentence for the person fixing the file, and ``key`` names the row (a region
    code, a masked resident ID) when it could be read. ``key`` must never carry personal data in
    clear: importers pass masked values.
    """

    line: int
    reason: str
    key: str | None = None
