"""Shared base of the servicers: holds the wired dependencies and the cancel-token helper."""

from __future__ import annotations

import grpc

from tuskd.services.events import CancelToken
from tuskd.wiring import Deps


class ServicerBase:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def call_token(self, context: grpc.ServicerContext) -> CancelToken:
        """A token that flips when the call ends: the client cancels or its deadline passes."""
        token = CancelToken()
        if not context.add_callback(token.cancel):
            token.cancel()
        return token

    def cancel_token(self, context: grpc.ServicerContext, kind: str) -> CancelToken:
        """A token that flips when the client cancels, its deadline passes, or the server starts
        draining for shutdown, so a blocked wait frees its thread at once. Takes one of the
        ``kind`` stream slots for the call's life (ResourceExhausted when none is free)."""
        release = self.deps.streams.enter(kind)
        token = CancelToken()
        leave = self.deps.open_waits.enter()
        unlink = self.deps.draining.add_callback(token.cancel)
        for callback in (token.cancel, unlink, leave, release):
            if not context.add_callback(callback):  # the RPC already ended
                token.cancel()
                unlink()
                leave()
                release()
                break
        return token
