"""PFS use cases with Pachyderm 2.x semantics: repos, branches, commits, commit sets and files.

Every write runs in one store transaction; observers (the job engine) are called inside it with
a :class:`~tuskd.domain.pfs.CommitEvent` or :class:`~tuskd.domain.pfs.RepoEvent`, so their own
writes commit or roll back together with the PFS change. Waiters are woken through the
:class:`~tuskd.services.events.EventHub` after the transaction commits.

Semantics decided here (see docs/pfs-storage.md for the storage side):

* CreateRepo creates no branch, as in Pachyderm 2.x; ``master`` appears with the first commit
  to it (StartCommit and ModifyFile create a missing branch), and is the default branch name.
* StartCommit on a branch whose head is still open is FAILED_PRECONDITION ("parent commit ...
  has not been finished"); so is starting a commit on a branch with provenance (an output branch).
* Starting a commit (or moving a head with CreateBranch) propagates: every branch downstream
  (subvenant) gets an open AUTO commit in the same commit set, whose direct provenance is the
  new heads of its provenance branches. That is how a pipeline's output branch follows its inputs.
* FinishCommit moves a commit to FINISHING and, once its parent is FINISHED (at once in the
  usual case), to FINISHED, materialising its file tree. Children waiting in FINISHING follow.
* Squash/drop of a commit set are refused while other commit sets depend on it. Squash folds
  each commit's changes into its children (it needs children); drop removes head commits only.
* ModifyFile on a branch whose head is open writes into that commit; otherwise it opens and
  finishes a commit around the changes (``pachctl put file``). Writing to a finished commit
  named by ID is FAILED_PRECONDITION. Within one session, operations apply in order: the last
  write of a path wins, ``append`` appends to what the path holds at that point.
* GetFile of a directory or glob streams the matched files concatenated in path order.
"""

from __future__ import annotations

from .pfs_branches import BranchOps
from .pfs_commit_sets import CommitSetOps
from .pfs_files import FileReads
from .pfs_modify import ModifyOps, ModifySession
from .pfs_repos import RepoOps
from .pfs_shared import MAX_LIST_NUMBER, Observer, commit_set_topic, repo_topic

__all__ = [
    "MAX_LIST_NUMBER",
    "ModifySession",
    "Observer",
    "PfsService",
    "commit_set_topic",
    "repo_topic",
]


class PfsService(RepoOps, BranchOps, CommitSetOps, ModifyOps, FileReads):
    """Versioned data: every pfs_v2.API use case, transport-agnostic.

    Composed of one mixin per area (services/pfs_repos.py, pfs_branches.py, pfs_commits.py,
    pfs_commit_sets.py, pfs_modify.py, pfs_files.py) over :class:`~tuskd.services.pfs_base.PfsBase`.
    """
