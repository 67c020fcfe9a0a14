"""Shared base of the servicers: holds the wired dependencies and the cancel-token helper."""

from __future__ import annotations

import grpc

from tuskd.services.events import CancelToken
from tuskd.wiring import Deps


class ServicerBase:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @staticmethod
    def cancel_token(context: grpc.ServicerContext) -> CancelToken:
        """A token that flips when the client cancels or its deadline passes, freeing the thread."""
        token = CancelToken()
        if not context.add_callback(token.cancel):
            token.cancel()  # the RPC already ended
        return token
