"""Transactions (Pachyderm's transaction_v2): requests queued under an ID, applied atomically.

A transaction holds an ordered list of requests, opaque to this module (the transport encodes
them). Appending one replays the whole list plus the new request inside a write transaction that
is then rolled back: a request that could not be applied is refused when it is made, as pachd
does, and its answer (a commit started inside the transaction) is what finishing will produce.
Finishing replays the list once more and commits, all or nothing. Transactions are stored, so
they survive a restart; the commits a transaction starts share its ID as their commit set.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from tuskd.domain.errors import NotFound, ResourceExhausted
from tuskd.domain.ids import new_global_id
from tuskd.store.base import PfsTx, Store, Tx
from tuskd.store.meta import MetaTx, TransactionRow

__all__ = ["TransactionRecord", "TransactionService", "WriteTx"]

# Each append replays the whole queue inside the write lock: a bound keeps that cheap.
MAX_REQUESTS = 1000
# Applies serialized requests in order, in the given write transaction (the transaction's ID
# names their commit set), and returns their serialized answers, one per request.
Replay = Callable[[str, Sequence[bytes], PfsTx], list[bytes]]
# That write transaction (the store's unit of work), as the transport layer names it.
WriteTx = PfsTx


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    id: str
    started: datetime
    version: int
    requests: tuple[bytes, ...]
    responses: tuple[bytes, ...]


def _pack(requests: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(r)) + r for r in requests)


def _unpack(blob: bytes) -> tuple[bytes, ...]:
    out, at = [], 0
    while at < len(blob):
        (size,) = struct.unpack_from(">I", blob, at)
        at += 4
        out.append(blob[at : at + size])
        at += size
    return tuple(out)


def _record(row: TransactionRow) -> TransactionRecord:
    started = datetime.fromtimestamp(row.started_us / 1_000_000, UTC)
    return TransactionRecord(row.id, started, row.version, _unpack(row.requests), _unpack(row.responses))


class _Undo(Exception):
    """Carries a dry run's result out of the savepoint it rolls back."""

    def __init__(self, result: list[bytes]) -> None:
        super().__init__("dry run")
        self.result = result


def transaction_not_found(txn_id: str) -> NotFound:
    return NotFound(f"transactions {txn_id} not found", reason="TRANSACTION_NOT_FOUND", transaction=txn_id)


class TransactionService:
    def __init__(
        self, store: Store, meta_tables: Callable[[Tx], MetaTx], *, clock: Callable[[], int] | None = None
    ) -> None:
        self._store = store
        self._meta = meta_tables
        self._clock = clock or (lambda: time.time_ns() // 1000)

    def _row(self, tx: Tx, txn_id: str) -> TransactionRow:
        row = self._meta(tx).get_transaction(txn_id)
        if row is None:
            raise transaction_not_found(txn_id)
        return row

    def start(self) -> TransactionRecord:
        with self._store.write() as tx:
            return _record(self._meta(tx).insert_transaction(new_global_id(), self._clock()))

    def inspect(self, txn_id: str) -> TransactionRecord:
        with self._store.read() as tx:
            return _record(self._row(tx, txn_id))

    def list_transactions(self) -> list[TransactionRecord]:
        with self._store.read() as tx:
            return [_record(r) for r in self._meta(tx).list_transactions()]

    def delete(self, txn_id: str) -> None:
        with self._store.write() as tx:
            self._row(tx, txn_id)
            self._meta(tx).delete_transaction(txn_id)

    def delete_all(self) -> None:
        with self._store.write() as tx:
            self._meta(tx).delete_transactions()

    def append(self, txn_id: str, request: bytes, replay: Replay) -> bytes:
        """Queue ``request`` and return its answer.

        The whole queue is replayed with the new request at the end and rolled back; an error
        from it refuses the request and leaves the transaction as it was.
        """
        with self._store.write() as tx:
            row = self._row(tx, txn_id)
            requests = (*_unpack(row.requests), request)
            if len(requests) > MAX_REQUESTS:
                raise ResourceExhausted(
                    f"transaction {txn_id} already holds {MAX_REQUESTS} requests, the most one may hold: "
                    "finish it and start another",
                    reason="TRANSACTION_TOO_BIG",
                )
            try:
                with self._store.write(join=tx):
                    raise _Undo(replay(txn_id, requests, tx))
            except _Undo as undone:
                answers = undone.result
            self._meta(tx).update_transaction(txn_id, row.version + 1, _pack(requests), _pack(answers))
            return answers[-1]

    def finish(self, txn_id: str, replay: Replay) -> TransactionRecord:
        """Apply every queued request in one write transaction and forget the transaction."""
        with self._store.write() as tx:
            row = self._row(tx, txn_id)
            record = _record(row)
            answers = replay(txn_id, record.requests, tx)
            self._meta(tx).delete_transaction(txn_id)
            return replace(record, responses=tuple(answers))

    def run_batch(self, requests: Sequence[bytes], replay: Replay) -> TransactionRecord:
        """BatchTransaction: a transaction started, filled and finished in one call."""
        if len(requests) > MAX_REQUESTS:
            raise ResourceExhausted(
                f"a batch transaction may hold at most {MAX_REQUESTS} requests, not {len(requests)}",
                reason="TRANSACTION_TOO_BIG",
            )
        txn_id = new_global_id()
        with self._store.write() as tx:
            answers = replay(txn_id, requests, tx)
        started = datetime.fromtimestamp(self._clock() / 1_000_000, UTC)
        return TransactionRecord(txn_id, started, 0, tuple(requests), tuple(answers))
