"""transaction_v2.API, and the queueing of transactional calls made under a transaction.

A client inside a transaction sends the header ``pach-transaction: <id>`` on every call. The
calls pachd makes transactional (the fields of ``TransactionRequest`` that tusk can apply:
CreateRepo, DeleteRepo, StartCommit, FinishCommit, SquashCommitSet, CreateBranch, DeleteBranch,
CreatePipeline/CreatePipelineV2) are then queued instead of applied; every other call ignores the
header and runs at once, as on pachd. FinishTransaction applies the queue atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf import empty_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tusk.proto.pps_v2 import pps_pb2
from tusk.proto.transaction_v2 import transaction_pb2, transaction_pb2_grpc
from tuskd.domain.errors import InvalidArgument, Unimplemented
from tuskd.services.transactions import TransactionRecord, WriteTx
from tuskd.transport.base import ServedDeps, ServicerBase
from tuskd.transport.pfs_convert import timestamp
from tuskd.transport.unimplemented import complete_servicer

__all__ = ["TRANSACTION_HEADER", "Queueing", "Replayer", "TransactionApi"]

TRANSACTION_HEADER = "pach-transaction"

# Requests pachd would queue that tusk refuses inside a transaction, and why.
_REFUSED = {
    "stop_job": "StopJob inside a transaction is not supported by tusk: it waits for the job's processes to end",
    "update_job_state": "pps_v2.API/UpdateJobState is not served by tusk (its engine owns job states)",
}


def transaction_of(context: grpc.ServicerContext | None) -> str:
    """The transaction a call was made in ("" for none)."""
    if context is None:
        return ""
    for key, value in context.invocation_metadata() or ():
        if key == TRANSACTION_HEADER:
            return value if isinstance(value, str) else value.decode()
    return ""


class Replayer:
    """Applies serialized TransactionRequests through the servicers' own methods, in order."""

    def __init__(self, pfs: Any, pps: Any) -> None:
        self._steps: dict[str, Callable[[Any, str, WriteTx], Any]] = {
            "create_repo": lambda r, _t, tx: pfs.CreateRepo(r, None, tx),
            "delete_repo": lambda r, _t, tx: pfs.DeleteRepo(r, None, tx),
            "start_commit": lambda r, t, tx: pfs.start_commit(r, set_id=t, tx=tx),
            "finish_commit": lambda r, _t, tx: pfs.FinishCommit(r, None, tx),
            "squash_commit_set": lambda r, _t, tx: pfs.SquashCommitSet(r, None, tx),
            "create_branch": lambda r, _t, tx: pfs.CreateBranch(r, None, tx),
            "delete_branch": lambda r, _t, tx: pfs.DeleteBranch(r, None, tx),
            "create_pipeline_v2": lambda r, _t, tx: pps.create_pipeline_from(r.create_pipeline_request, tx=tx),
        }

    def __call__(self, txn_id: str, requests: Sequence[bytes], tx: WriteTx) -> list[bytes]:
        """Apply ``requests`` in order inside the caller's write transaction ``tx``."""
        out = []
        for raw in requests:
            request = transaction_pb2.TransactionRequest.FromString(raw)
            out.append(self.apply(request, txn_id, tx).SerializeToString())
        return out

    def apply(
        self, request: transaction_pb2.TransactionRequest, txn_id: str, tx: WriteTx
    ) -> transaction_pb2.TransactionResponse:
        fields = [f.name for f, _ in request.ListFields()]
        if len(fields) != 1:
            raise InvalidArgument(f"a transaction request must set exactly one operation, not {fields or 'none'}")
        field = fields[0]
        if field in _REFUSED:
            raise Unimplemented(_REFUSED[field])
        result = self._steps[field](getattr(request, field), txn_id, tx)
        if isinstance(result, pfs_pb2.Commit):
            return transaction_pb2.TransactionResponse(commit=result)
        return transaction_pb2.TransactionResponse()


class Queueing:
    """Mixin of the pfs and pps servicers: queue a transactional call made inside a transaction."""

    deps: ServedDeps
    replayer: Replayer

    def queued(self, context: grpc.ServicerContext | None, field: str, request: Any) -> Any:
        """The answer of the queued request, or None when the call is not in a transaction."""
        txn_id = transaction_of(context)
        if not txn_id:
            return None
        if field == "create_pipeline_v2" and isinstance(request, pps_pb2.CreatePipelineRequest):
            request = pps_pb2.CreatePipelineTransaction(create_pipeline_request=request)
        wrapped = transaction_pb2.TransactionRequest(**{field: request})
        if field in _REFUSED:
            raise Unimplemented(_REFUSED[field])
        answer = self.deps.transactions.append(txn_id, wrapped.SerializeToString(), self.replayer)
        return transaction_pb2.TransactionResponse.FromString(answer)


def _info(record: TransactionRecord) -> Any:
    return transaction_pb2.TransactionInfo(
        transaction=transaction_pb2.Transaction(id=record.id),
        requests=[transaction_pb2.TransactionRequest.FromString(r) for r in record.requests],
        responses=[transaction_pb2.TransactionResponse.FromString(r) for r in record.responses],
        started=timestamp(record.started),
        version=record.version,
    )


@complete_servicer(transaction_pb2.DESCRIPTOR.services_by_name["API"])
class TransactionApi(ServicerBase, transaction_pb2_grpc.APIServicer):
    def __init__(self, deps: ServedDeps, replayer: Replayer) -> None:
        super().__init__(deps)
        self._replay = replayer

    def StartTransaction(self, request: Any, context: grpc.ServicerContext) -> transaction_pb2.Transaction:
        return transaction_pb2.Transaction(id=self.deps.transactions.start().id)

    def InspectTransaction(self, request: Any, context: grpc.ServicerContext) -> transaction_pb2.TransactionInfo:
        return _info(self.deps.transactions.inspect(request.transaction.id))

    def ListTransaction(self, request: Any, context: grpc.ServicerContext) -> transaction_pb2.TransactionInfos:
        return transaction_pb2.TransactionInfos(
            transaction_info=[_info(r) for r in self.deps.transactions.list_transactions()]
        )

    def DeleteTransaction(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.transactions.delete(request.transaction.id)
        return empty_pb2.Empty()

    def FinishTransaction(self, request: Any, context: grpc.ServicerContext) -> transaction_pb2.TransactionInfo:
        return _info(self.deps.transactions.finish(request.transaction.id, self._replay))

    def BatchTransaction(self, request: Any, context: grpc.ServicerContext) -> transaction_pb2.TransactionInfo:
        raw = [r.SerializeToString() for r in request.requests]
        return _info(self.deps.transactions.run_batch(raw, self._replay))

    def DeleteAll(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.transactions.delete_all()
        return empty_pb2.Empty()
