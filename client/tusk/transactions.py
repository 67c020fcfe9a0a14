"""Client API for transactions (transaction_v2.API): ``client.transactions`` and ``client.transaction()``.

A transaction queues the calls Pachyderm makes transactional (create/delete repo, start/finish
commit, squash commit set, create/delete branch, create/update pipeline) and applies them all at
once, atomically, when it is finished. A call joins a transaction by carrying the gRPC metadata
``pach-transaction: <id>``; a :class:`tusk.Client` sends it on every call while its
``transaction_id`` is set, which ``with client.transaction():`` does for the calls inside the block.
Other calls (putting files, reads) ignore the header and run at once, as on pachd.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import grpc

from tusk.errors import translated
from tusk.proto.transaction_v2 import transaction_pb2, transaction_pb2_grpc

__all__ = ["TRANSACTION_HEADER", "ActiveTransaction", "TransactionClient"]

TRANSACTION_HEADER = "pach-transaction"


def _txn(transaction: str | transaction_pb2.Transaction) -> transaction_pb2.Transaction:
    if isinstance(transaction, transaction_pb2.Transaction):
        return transaction
    return transaction_pb2.Transaction(id=transaction)


@dataclass
class ActiveTransaction:
    """What ``with client.transaction() as txn`` gives: its ``id``; after the block, ``info`` is
    the TransactionInfo FinishTransaction answered (the requests and their responses)."""

    id: str
    info: transaction_pb2.TransactionInfo | None = None


class TransactionClient:
    """``client.transactions``: every transaction_v2 RPC as a typed method."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = transaction_pb2_grpc.APIStub(channel)

    @translated
    def start_transaction(self, *, timeout: float | None = 30.0) -> transaction_pb2.Transaction:
        return self.stub.StartTransaction(transaction_pb2.StartTransactionRequest(), timeout=timeout)

    @translated
    def inspect_transaction(
        self, transaction: str | transaction_pb2.Transaction, *, timeout: float | None = 30.0
    ) -> transaction_pb2.TransactionInfo:
        """The queued requests (NotFound for an unknown, finished or deleted transaction)."""
        request = transaction_pb2.InspectTransactionRequest(transaction=_txn(transaction))
        return self.stub.InspectTransaction(request, timeout=timeout)

    @translated
    def list_transaction(self, *, timeout: float | None = 30.0) -> list[transaction_pb2.TransactionInfo]:
        infos = self.stub.ListTransaction(transaction_pb2.ListTransactionRequest(), timeout=timeout)
        return list(infos.transaction_info)

    @translated
    def delete_transaction(
        self, transaction: str | transaction_pb2.Transaction, *, timeout: float | None = 30.0
    ) -> None:
        """Drop a transaction and its queue; nothing of it is applied."""
        request = transaction_pb2.DeleteTransactionRequest(transaction=_txn(transaction))
        self.stub.DeleteTransaction(request, timeout=timeout)

    @translated
    def finish_transaction(
        self, transaction: str | transaction_pb2.Transaction, *, timeout: float | None = 120.0
    ) -> transaction_pb2.TransactionInfo:
        """Apply every queued request, all or none; the answer carries one response per request."""
        request = transaction_pb2.FinishTransactionRequest(transaction=_txn(transaction))
        return self.stub.FinishTransaction(request, timeout=timeout)

    @translated
    def batch_transaction(
        self, requests: Iterable[transaction_pb2.TransactionRequest], *, timeout: float | None = 120.0
    ) -> transaction_pb2.TransactionInfo:
        """Apply the given requests at once, atomically, without a stored transaction."""
        request = transaction_pb2.BatchTransactionRequest(requests=list(requests))
        return self.stub.BatchTransaction(request, timeout=timeout)

    @translated
    def delete_all(self, *, timeout: float | None = 30.0) -> None:
        """Drop every open transaction."""
        self.stub.DeleteAll(transaction_pb2.DeleteAllRequest(), timeout=timeout)
