"""The child process that evaluates jqFilter programs for the server (see tuskd.services.jq_filter).

Run as ``python -m tuskd.services.jq_worker <memory bytes>``. It caps its own address space
(RLIMIT_AS) first, then serves requests on stdin until stdin closes. A request is a header line
``{"program": ..., "count": n, "cpu": seconds}`` followed by ``n`` lines, each one JSON document;
the answer is one line: ``{"keep": "0110..."}`` (one digit per document: 1 when the program's
first output is neither ``false`` nor ``null``), or ``{"error": "compile"|"runtime", "message": ...}``.
Before each request the soft RLIMIT_CPU is set to the CPU used so far plus ``cpu``, so a program
that spins is killed by the kernel (SIGXCPU) even if the server could not kill it.

Only the standard library and ``jq`` are imported: the worker must start fast and stay small.
"""

from __future__ import annotations

import json
import math
import resource
import sys
from typing import Any

# Exit status when Python itself runs out of memory (libjq aborts instead: SIGABRT).
EXIT_OUT_OF_MEMORY = 3
_CACHE_SIZE = 16


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _allow_cpu(seconds: float) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(_cpu_used() + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _first_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _serve(stdin: Any, stdout: Any) -> None:
    import jq  # after RLIMIT_AS: the library's own allocations count too

    compiled: dict[str, Any] = {}
    while True:
        header = stdin.readline()
        if not header:
            return  # the server closed the pipe (it stopped, or dropped this worker)
        request = json.loads(header)
        docs = [stdin.readline() for _ in range(request["count"])]
        _allow_cpu(float(request["cpu"]))
        answer: dict[str, str]
        program = request["program"]
        try:
            filt = compiled.get(program)
            if filt is None:
                filt = jq.compile(program)
                if len(compiled) >= _CACHE_SIZE:
                    compiled.clear()
                compiled[program] = filt
        except ValueError as exc:
            answer = {"error": "compile", "message": _first_message(exc)}
        else:
            try:
                keep = []
                for doc in docs:
                    first = next(iter(filt.input_text(doc)), None)
                    keep.append("0" if first is None or first is False else "1")
                answer = {"keep": "".join(keep)}
            except ValueError as exc:
                answer = {"error": "runtime", "message": _first_message(exc)}
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


def main() -> None:
    memory = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        _serve(sys.stdin, sys.stdout)
    except MemoryError:
        sys.exit(EXIT_OUT_OF_MEMORY)


if __name__ == "__main__":
    main()
