"""The server's threads for blocking work: use cases that wait on the database, off the event loop.

Starlette's ``run_in_threadpool`` goes through anyio: a capacity limiter, a cancel scope and a
queue per worker. On a two-core machine a hand-off there and back cost about 120 µs; through the
event loop's ``run_in_executor`` with a plain ``ThreadPoolExecutor``, about 85 µs. Each write
makes one hand-off, and so does each read on PostgreSQL, so the difference is paid per request.

The pool is the process's, with anyio's default size (40 threads), so that slow requests wait in
threads rather than in a queue in front of them; a thread starts only when no idle one is left.
(Sync routes, which FastAPI runs itself, still use anyio's pool.)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

THREADS = 40
"""Threads at most, as anyio's default limiter allows Starlette's thread pool."""

_POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="steward-worker")

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in one of the server's threads, with the caller's context
    variables. If the awaiting request is cancelled (the server stopping), the call still runs
    to its end in its thread: a write commits or rolls back as a whole either way."""
    context = contextvars.copy_context()
    run = functools.partial(context.run, call, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_POOL, run)
