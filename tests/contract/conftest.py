"""Fixtures of the contract suites: each suite runs the same tests against every implementation
of one seam.

- ``make_executor`` (tests/contract/executors.py): the executor seam, by executor kind.
- ``backend`` and ``store`` (tests/contract/stores.py): the store Protocols, on SQLite and on a
  real PostgreSQL.
"""

from tests.contract.executors import ExecutorFactory, Harness, make_executor
from tests.contract.stores import Backend, backend, store

__all__ = ["Backend", "ExecutorFactory", "Harness", "backend", "make_executor", "store"]
