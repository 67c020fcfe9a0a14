"""Domain exceptions: the only way the core tells the transport what went wrong.

Each class names a canonical failure kind; the gRPC layer maps them to status codes in one
place (tuskd.transport.errors). Messages are written for the person who sent the request:
they say what was wrong and, where it helps, what to do instead.
"""

from __future__ import annotations


class TuskError(Exception):
    """Base of every error the core raises on purpose.

    ``reason`` is a short UPPER_SNAKE machine-readable tag carried in google.rpc.ErrorInfo;
    ``metadata`` holds string facts (ids, names) a client may act on.
    """

    reason = "TUSK_ERROR"

    def __init__(self, message: str, *, reason: str | None = None, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = {k: str(v) for k, v in metadata.items()}

    def __str__(self) -> str:
        return self.message


class InvalidArgument(TuskError):
    """The request itself is malformed: fixing the request fixes the call."""

    reason = "INVALID_ARGUMENT"


class NotFound(TuskError):
    """A named repo, branch, commit, file, pipeline, job or datum does not exist."""

    reason = "NOT_FOUND"


class AlreadyExists(TuskError):
    """Something with that name already exists."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(TuskError):
    """The request is well formed but the system is not in a state that allows it."""

    reason = "FAILED_PRECONDITION"


class ResourceExhausted(TuskError):
    """A size, disk or rate limit was hit."""

    reason = "RESOURCE_EXHAUSTED"


class Unauthenticated(TuskError):
    """No valid credentials were presented."""

    reason = "UNAUTHENTICATED"


class Aborted(TuskError):
    """A concurrent change got in the way; retrying the whole operation may succeed."""

    reason = "ABORTED"


class Unavailable(TuskError):
    """The server is shutting down or a dependency is temporarily unreachable."""

    reason = "UNAVAILABLE"


class DeadlineExceeded(TuskError):
    """A wait ran out of time before the awaited state was reached."""

    reason = "DEADLINE_EXCEEDED"


class Unimplemented(TuskError):
    """The RPC or option is part of the contract but not built yet."""

    reason = "UNIMPLEMENTED"


class DataLoss(TuskError):
    """Stored content is damaged: a blob's bytes no longer match its hash."""

    reason = "DATA_LOSS"


class OutOfRange(TuskError):
    """A position (a sequence number, an offset) lies past what exists."""

    reason = "OUT_OF_RANGE"
