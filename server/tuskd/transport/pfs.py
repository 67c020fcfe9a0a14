"""pfs_v2.API servicer: repos, branches, commits and files over gRPC (thin: convert, call, convert).

Domain errors raised by the service become statuses in ``transport/errors.py``. Blocking calls
(InspectCommit/InspectCommitSet with wait, SubscribeCommit) get a cancel token tied to the
RPC, so a client that hangs up or times out frees its thread at once.

ModifyFile follows Pachyderm's stream protocol: the first message is ``set_commit``; each raw
``add_file`` appends to its path (clients send ``delete_file`` first to overwrite, and split big
files into many ``add_file`` messages); nothing is applied unless the whole stream arrives.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2, wrappers_pb2

from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc
from tuskd.domain.errors import Aborted, InvalidArgument, Unimplemented
from tuskd.domain.pfs import CommitState
from tuskd.services.transactions import WriteTx
from tuskd.transport import pfs_convert as conv
from tuskd.transport.base import ServicerBase
from tuskd.transport.pfs_maintenance import MaintenanceRpcs
from tuskd.transport.pfs_projects import ProjectRpcs
from tuskd.transport.transactions import Queueing
from tuskd.transport.unimplemented import complete_servicer

_EMPTY = empty_pb2.Empty()


def _bytes(chunks: Iterator[bytes]) -> Iterator[wrappers_pb2.BytesValue]:
    for chunk in chunks:
        yield wrappers_pb2.BytesValue(value=chunk)


@complete_servicer(pfs_pb2.DESCRIPTOR.services_by_name["API"])
class PfsApi(ProjectRpcs, MaintenanceRpcs, Queueing, ServicerBase, pfs_pb2_grpc.APIServicer):
    """Every RPC not defined here answers UNIMPLEMENTED naming itself."""

    # -- repos ------------------------------------------------------------------------------

    def CreateRepo(
        self, request: pfs_pb2.CreateRepoRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> empty_pb2.Empty:
        if self.queued(context, "create_repo", request) is not None:
            return _EMPTY
        self.deps.pfs.create_repo(conv.repo_key(request.repo), request.description, request.update, tx=tx)
        return _EMPTY

    def InspectRepo(self, request: pfs_pb2.InspectRepoRequest, context: grpc.ServicerContext) -> pfs_pb2.RepoInfo:
        return conv.repo_info(self.deps.pfs.inspect_repo(conv.repo_key(request.repo)))

    def ListRepo(self, request: pfs_pb2.ListRepoRequest, context: grpc.ServicerContext) -> Iterator[pfs_pb2.RepoInfo]:
        if request.page.page_size < 0 or request.page.page_index < 0:
            raise InvalidArgument("page_size and page_index must not be negative")
        infos = self.deps.pfs.list_repos(request.type, [p.name for p in request.projects])
        if request.page.page_size:
            start = request.page.page_index * request.page.page_size
            infos = infos[start : start + request.page.page_size]
        for info in infos:
            yield conv.repo_info(info)

    def DeleteRepo(
        self, request: pfs_pb2.DeleteRepoRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> pfs_pb2.DeleteRepoResponse:
        if self.queued(context, "delete_repo", request) is not None:
            return pfs_pb2.DeleteRepoResponse(deleted=True)  # as pachd, inside a transaction
        deleted = self.deps.pfs.delete_repo(conv.repo_key(request.repo), request.force, tx=tx)
        return pfs_pb2.DeleteRepoResponse(deleted=deleted)

    def DeleteAll(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.projects.delete_all()
        return _EMPTY

    # -- commits ----------------------------------------------------------------------------

    def StartCommit(self, request: pfs_pb2.StartCommitRequest, context: grpc.ServicerContext) -> pfs_pb2.Commit:
        answer = self.queued(context, "start_commit", request)
        if answer is not None:
            return answer.commit
        return self.start_commit(request)

    def start_commit(
        self, request: pfs_pb2.StartCommitRequest, set_id: str | None = None, tx: WriteTx | None = None
    ) -> pfs_pb2.Commit:
        branch = request.branch if request.branch.name else request.parent.branch
        parent = conv.commit_ref(request.parent) if request.parent.id else None
        info = self.deps.pfs.start_commit(conv.branch_key(branch), parent, request.description, set_id, tx=tx)
        return conv.commit_pb(info.commit)

    def FinishCommit(
        self, request: pfs_pb2.FinishCommitRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> empty_pb2.Empty:
        if self.queued(context, "finish_commit", request) is not None:
            return _EMPTY
        self.deps.pfs.finish_commit(
            conv.commit_ref(request.commit), request.description, request.error, request.force, tx=tx
        )
        return _EMPTY

    def InspectCommit(self, request: pfs_pb2.InspectCommitRequest, context: grpc.ServicerContext) -> pfs_pb2.CommitInfo:
        wait = conv.commit_state(request.wait)
        cancel = self.cancel_token(context, "InspectCommit with wait") if wait > CommitState.STARTED else None
        info = self.deps.pfs.inspect_commit(conv.commit_ref(request.commit), wait, cancel=cancel)
        return conv.commit_info(info)

    def ListCommit(
        self, request: pfs_pb2.ListCommitRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitInfo]:
        infos = self.deps.pfs.list_commits(
            conv.repo_key(request.repo),
            from_=conv.commit_ref(getattr(request, "from")) if request.HasField("from") else None,
            to=conv.commit_ref(request.to) if request.HasField("to") else None,
            number=request.number,
            reverse=request.reverse,
            all=request.all,
            origin_kind=conv.origin_kind(request.origin_kind),
            started_time=conv.optional_time(request.started_time, request.HasField("started_time"), "started_time"),
        )
        for info in infos:
            yield conv.commit_info(info)

    def SubscribeCommit(
        self, request: pfs_pb2.SubscribeCommitRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitInfo]:
        state = conv.commit_state(request.state)
        infos = self.deps.pfs.subscribe_commits(
            conv.repo_key(request.repo),
            request.branch,
            from_=conv.commit_ref(getattr(request, "from")) if request.HasField("from") else None,
            state=state if state != CommitState.UNKNOWN else CommitState.STARTED,
            all=request.all,
            origin_kind=conv.origin_kind(request.origin_kind),
            cancel=self.cancel_token(context, "SubscribeCommit"),
        )
        for info in infos:
            yield conv.commit_info(info)

    # -- commit sets ------------------------------------------------------------------------

    def InspectCommitSet(
        self, request: pfs_pb2.InspectCommitSetRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitInfo]:
        cancel = self.cancel_token(context, "InspectCommitSet with wait") if request.wait else None
        infos = self.deps.pfs.inspect_commit_set(request.commit_set.id, request.wait, cancel=cancel)
        for info in infos:
            yield conv.commit_info(info)

    def ListCommitSet(
        self, request: pfs_pb2.ListCommitSetRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitSetInfo]:
        for info in self.deps.pfs.list_commit_sets(request.project.name):
            yield conv.commit_set_info(info)

    def SquashCommitSet(
        self, request: pfs_pb2.SquashCommitSetRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> empty_pb2.Empty:
        if self.queued(context, "squash_commit_set", request) is not None:
            return _EMPTY
        self.deps.pfs.squash_commit_set(request.commit_set.id, tx=tx)
        return _EMPTY

    def DropCommitSet(self, request: pfs_pb2.DropCommitSetRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.pfs.drop_commit_set(request.commit_set.id)
        return _EMPTY

    # -- branches ---------------------------------------------------------------------------

    def CreateBranch(
        self, request: pfs_pb2.CreateBranchRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> empty_pb2.Empty:
        if self.queued(context, "create_branch", request) is not None:
            return _EMPTY
        if request.HasField("trigger") and request.trigger.branch:
            raise Unimplemented("branch triggers are not supported by tusk")
        head = None
        if request.HasField("head") and (request.head.id or request.head.branch.name):
            head = conv.commit_ref(request.head)
        self.deps.pfs.create_branch(
            conv.branch_key(request.branch),
            head=head,
            provenance=[conv.branch_key(p) for p in request.provenance],
            new_commit_set=request.new_commit_set,
            tx=tx,
        )
        return _EMPTY

    def InspectBranch(self, request: pfs_pb2.InspectBranchRequest, context: grpc.ServicerContext) -> pfs_pb2.BranchInfo:
        return conv.branch_info(self.deps.pfs.inspect_branch(conv.branch_key(request.branch)))

    def ListBranch(
        self, request: pfs_pb2.ListBranchRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.BranchInfo]:
        repo = conv.repo_key(request.repo) if request.repo.name else None
        for info in self.deps.pfs.list_branches(repo, request.reverse):
            yield conv.branch_info(info)

    def DeleteBranch(
        self, request: pfs_pb2.DeleteBranchRequest, context: grpc.ServicerContext | None, tx: WriteTx | None = None
    ) -> empty_pb2.Empty:
        if self.queued(context, "delete_branch", request) is not None:
            return _EMPTY
        self.deps.pfs.delete_branch(conv.branch_key(request.branch), request.force, tx=tx)
        return _EMPTY

    # -- files: writing ---------------------------------------------------------------------

    def ModifyFile(
        self, request_iterator: Iterator[pfs_pb2.ModifyFileRequest], context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        requests = conv.RawChunks(iter(request_iterator))
        first = next(requests, None)
        if first is None:
            return _EMPTY
        if first.WhichOneof("body") != "set_commit":
            raise InvalidArgument("the first ModifyFile message must be set_commit")
        session = self.deps.pfs.begin_modify(conv.commit_ref(first.set_commit))
        try:
            for request in requests:
                body = request.WhichOneof("body")
                if body == "add_file":
                    add = request.add_file
                    if add.WhichOneof("source") == "url":
                        session.add_file_url(add.path, add.url.URL, add.url.recursive, append=True)
                    else:
                        session.add_file(add.path, requests.chunks(add), append=True)
                elif body == "delete_file":
                    session.delete_file(request.delete_file.path)
                elif body == "copy_file":
                    copy = request.copy_file
                    session.copy_file(copy.dst, conv.commit_ref(copy.src.commit), copy.src.path, copy.append)
                elif body == "set_commit":
                    raise InvalidArgument("set_commit may only be the first message of a ModifyFile stream")
                else:
                    raise InvalidArgument("empty ModifyFile message")
            # grpcio can end the request iterator of a cancelled call as if the client had
            # finished: never mistake a cut-off upload for a complete one. Checked again inside
            # the write transaction, just before it commits.
            if not context.is_active():
                raise grpc.RpcError()
            session.commit(still_wanted=context.is_active)
        except grpc.RpcError:
            # The client hung up mid-stream: nothing was applied.
            session.abort()
            raise Aborted("the ModifyFile stream was cancelled before it ended; nothing was applied") from None
        except BaseException:
            session.abort()
            raise
        return _EMPTY

    # -- files: reading ---------------------------------------------------------------------

    @staticmethod
    def _plain_get(request: pfs_pb2.GetFileRequest) -> None:
        if request.URL:
            raise Unimplemented("GetFile to a URL is not supported by tusk")
        if request.path_range.lower or request.path_range.upper:
            raise Unimplemented("GetFile with a path_range is not supported by tusk")

    def GetFile(
        self, request: pfs_pb2.GetFileRequest, context: grpc.ServicerContext
    ) -> Iterator[wrappers_pb2.BytesValue]:
        self._plain_get(request)
        chunks = self.deps.pfs.get_file(conv.commit_ref(request.file.commit), request.file.path, request.offset)
        yield from _bytes(chunks)

    def GetFileTAR(
        self, request: pfs_pb2.GetFileRequest, context: grpc.ServicerContext
    ) -> Iterator[wrappers_pb2.BytesValue]:
        self._plain_get(request)
        if request.offset:
            raise InvalidArgument("GetFileTAR does not take an offset")
        yield from _bytes(self.deps.pfs.get_file_tar(conv.commit_ref(request.file.commit), request.file.path))

    def InspectFile(self, request: pfs_pb2.InspectFileRequest, context: grpc.ServicerContext) -> pfs_pb2.FileInfo:
        return conv.file_info(self.deps.pfs.inspect_file(conv.commit_ref(request.file.commit), request.file.path))

    def ListFile(self, request: pfs_pb2.ListFileRequest, context: grpc.ServicerContext) -> Iterator[pfs_pb2.FileInfo]:
        infos = self.deps.pfs.list_files(
            conv.commit_ref(request.file.commit),
            request.file.path,
            number=request.number,
            reverse=request.reverse,
            marker=request.paginationMarker.path or None,
        )
        for info in infos:
            yield conv.file_info(info)

    def WalkFile(self, request: pfs_pb2.WalkFileRequest, context: grpc.ServicerContext) -> Iterator[pfs_pb2.FileInfo]:
        infos = self.deps.pfs.walk_files(
            conv.commit_ref(request.file.commit),
            request.file.path,
            number=request.number,
            reverse=request.reverse,
            marker=request.paginationMarker.path or None,
        )
        for info in infos:
            yield conv.file_info(info)

    def GlobFile(self, request: pfs_pb2.GlobFileRequest, context: grpc.ServicerContext) -> Iterator[pfs_pb2.FileInfo]:
        bounds = (request.path_range.lower, request.path_range.upper)
        infos = self.deps.pfs.glob_files(
            conv.commit_ref(request.commit), request.pattern, bounds if any(bounds) else None
        )
        for info in infos:
            yield conv.file_info(info)

    def DiffFile(
        self, request: pfs_pb2.DiffFileRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.DiffFileResponse]:
        old = request.old_file if request.HasField("old_file") and request.old_file.HasField("commit") else None
        diffs = self.deps.pfs.diff_files(
            conv.commit_ref(request.new_file.commit),
            request.new_file.path,
            old=conv.commit_ref(old.commit) if old is not None else None,
            old_path=old.path if old is not None else None,
            shallow=request.shallow,
        )
        for diff in diffs:
            yield conv.diff_response(diff)
