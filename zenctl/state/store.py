"""The metadata store: every run, step execution, artifact and resource, the lineage between
them, and each step's current state. `StateStore` is the one entry point the rest of zenctl
uses; its methods are grouped by concept in the modules it is made of:

- reading.py: the reads (a plan's snapshot, cache lookups, history, gc's retention);
- writing.py: the writes, each one transaction that bumps the state serial;
- transfer.py: the whole history as a state document (export and import);
- base.py: the database, the lock that fences writes, retries.

The records it hands out are in records.py; opening.py opens the stack's store.
"""

from __future__ import annotations

from zenctl.state.reading import Reading
from zenctl.state.transfer import Transfer
from zenctl.state.writing import Writing


class StateStore(Reading, Writing, Transfer):
    """The stack's metadata store, opened by `zenctl.state.opening.open_store`."""
