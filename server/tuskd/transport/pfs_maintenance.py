"""pfs_v2 RPCs on history, the provenance graph and the store (a mixin of the pfs servicer):
FindCommits, ClearCommit, SquashCommit, DropCommit, the four walks, ReposSummary, Fsck, Egress.

The use cases live in services/pfs_history.py, fsck.py, summaries.py and pfs_egress.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
from google.protobuf import empty_pb2

from tusk.proto.pfs_v2 import pfs_pb2
from tuskd.domain.errors import InvalidArgument, Unimplemented
from tuskd.domain.pfs import CommitKey
from tuskd.transport import pfs_convert as conv
from tuskd.transport.base import ServedDeps
from tuskd.transport.pickers import branch_of, commit_of, project_names

# pachd searches for 85% of the caller's deadline, keeping the rest to send the last answer.
_FIND_SHARE = 0.85


def _commit(key: CommitKey) -> pfs_pb2.Commit:
    # As in a CommitInfo, pachd names the commit by repo and ID only.
    return pfs_pb2.Commit(repo=conv.repo_pb(key.repo), id=key.id)


def _still_wanted(context: grpc.ServicerContext) -> Callable[[], bool]:
    remaining = context.time_remaining()
    if remaining is None:
        return context.is_active
    cutoff = time.monotonic() + remaining * _FIND_SHARE
    return lambda: context.is_active() and time.monotonic() < cutoff


class MaintenanceRpcs:
    deps: ServedDeps

    # -- history ----------------------------------------------------------------------------

    def FindCommits(
        self, request: pfs_pb2.FindCommitsRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.FindCommitsResponse]:
        if not request.HasField("start"):
            raise InvalidArgument("FindCommits needs a start commit", field="start")
        results = self.deps.history.find_commits(
            conv.commit_ref(request.start), request.file_path, request.limit, still_wanted=_still_wanted(context)
        )
        for result in results:
            out = pfs_pb2.FindCommitsResponse(commits_searched=result.commits_searched)
            if result.found is not None:
                out.found_commit.CopyFrom(_commit(result.found))
            elif result.last_searched is not None:
                out.last_searched_commit.CopyFrom(_commit(result.last_searched))
            yield out

    def ClearCommit(self, request: pfs_pb2.ClearCommitRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.deps.history.clear_commit(conv.commit_ref(request.commit))
        return empty_pb2.Empty()

    def SquashCommit(
        self, request: pfs_pb2.SquashCommitRequest, context: grpc.ServicerContext
    ) -> pfs_pb2.SquashCommitResponse:
        self.deps.history.squash_commit(conv.commit_ref(request.commit), request.recursive)
        return pfs_pb2.SquashCommitResponse()

    def DropCommit(
        self, request: pfs_pb2.DropCommitRequest, context: grpc.ServicerContext
    ) -> pfs_pb2.DropCommitResponse:
        self.deps.history.drop_commit(conv.commit_ref(request.commit), request.recursive)
        return pfs_pb2.DropCommitResponse()

    # -- provenance walks -------------------------------------------------------------------

    def WalkCommitProvenance(
        self, request: pfs_pb2.WalkCommitProvenanceRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitInfo]:
        starts = [commit_of(p) for p in request.start]
        for info in self.deps.history.walk_commit_provenance(starts, request.max_commits, request.max_depth):
            yield conv.commit_info(info)

    def WalkCommitSubvenance(
        self, request: pfs_pb2.WalkCommitSubvenanceRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.CommitInfo]:
        starts = [commit_of(p) for p in request.start]
        for info in self.deps.history.walk_commit_subvenance(starts, request.max_commits, request.max_depth):
            yield conv.commit_info(info)

    def WalkBranchProvenance(
        self, request: pfs_pb2.WalkBranchProvenanceRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.BranchInfo]:
        starts = [branch_of(p) for p in request.start]
        for info in self.deps.history.walk_branch_provenance(starts, request.max_branches, request.max_depth):
            yield conv.branch_info(info)

    def WalkBranchSubvenance(
        self, request: pfs_pb2.WalkBranchSubvenanceRequest, context: grpc.ServicerContext
    ) -> Iterator[pfs_pb2.BranchInfo]:
        starts = [branch_of(p) for p in request.start]
        for info in self.deps.history.walk_branch_subvenance(starts, request.max_branches, request.max_depth):
            yield conv.branch_info(info)

    # -- summaries, checks, egress ----------------------------------------------------------

    def ReposSummary(
        self, request: pfs_pb2.ReposSummaryRequest, context: grpc.ServicerContext
    ) -> pfs_pb2.ReposSummaryResponse:
        summaries = self.deps.summaries.repos_summary(project_names(request.projects))
        return pfs_pb2.ReposSummaryResponse(
            summaries=[
                pfs_pb2.ReposSummary(
                    project=pfs_pb2.Project(name=s.project), user_repo_count=s.user_repo_count, size_bytes=s.size_bytes
                )
                for s in summaries
            ]
        )

    def Fsck(self, request: pfs_pb2.FsckRequest, context: grpc.ServicerContext) -> Iterator[pfs_pb2.FsckResponse]:
        # The SDK sends zombie_all=false on every call: only a real request for the check counts.
        if request.zombie_all or request.HasField("zombie_target"):
            raise Unimplemented(
                "Fsck's zombie datum check is not supported by tusk: it looks for output that pachd's "
                "workers left behind per datum, and tusk writes a job's output commit in one step",
                reason="FSCK_ZOMBIE_UNSUPPORTED",
            )
        for error in self.deps.fsck.check(request.fix, still_wanted=context.is_active):
            yield pfs_pb2.FsckResponse(error=error)

    def Egress(self, request: pfs_pb2.EgressRequest, context: grpc.ServicerContext) -> pfs_pb2.EgressResponse:
        target = request.WhichOneof("target")
        if target == "sql_database":
            self.deps.egress.to_sql_database()
        if target != "object_storage":
            raise InvalidArgument(
                "egress failed: the request names no target (object_storage with a file:// URL)", field="target"
            )
        written = self.deps.egress.to_object_storage(conv.commit_ref(request.commit), request.object_storage.url)
        return pfs_pb2.EgressResponse(object_storage=pfs_pb2.EgressResponse.ObjectStorageResult(bytes_written=written))
