"""The plan store: frozen plan versions, the finance approval workflow and a hash-chained audit trail.

A version freezes everything a decision was made on (scenario, options, overrides, rule-file hashes, plan events,
simulated totals and per-account results); approvals and rejections are recorded against it, and every action is
appended to an audit log whose rows are chained by sha256 so that an edited or deleted row is detected.

Layers: `hashing` (pure) → `schema` and `migrations` (tables) → `database` (opening, transactions) → `audit`,
`roles`, `versions` → `workflow` (approve/reject), `diff` and `verify` → `views` (text for the command line).
Importing this package does not import SQLAlchemy; the submodules that talk to the database do.
"""

from planner.store.errors import CannotOpen, Conflict, NotFound, Refused, StoreError

__all__ = ["CannotOpen", "Conflict", "NotFound", "Refused", "StoreError"]
