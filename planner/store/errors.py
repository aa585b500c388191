"""What can go wrong in the plan store, as errors a person can act on.

Each error carries the command line's exit code: 1 when the store judged and refused (a rule of the workflow, a
changed rule file, a concurrent decision that won first), 2 when the command could not run at all (no database, an
unknown version, a broken roles file). The message is one or a few lines, never a traceback.
"""

from __future__ import annotations

REFUSED = 1
CANNOT_RUN = 2


class StoreError(Exception):
    """Base of every plan-store error; `exit_code` is what `planner` exits with."""

    exit_code = CANNOT_RUN


class Refused(StoreError):
    """The workflow refuses the action: missing role, own submission, changed rule files, a final decision."""

    exit_code = REFUSED


class Conflict(Refused):
    """Someone else changed the same version first (a concurrent approval or submission): look again, then retry."""


class NotFound(StoreError):
    """The named scenario or version is not in the store."""


class CannotOpen(StoreError):
    """The database cannot be opened, reached or migrated, or the roles file cannot be read."""
