"""The server's hand-off of blocking work to its threads (``steward.server._threads``)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from steward.server._threads import THREADS, in_thread

REQUEST = contextvars.ContextVar("request", default="none")


def test_a_call_runs_in_a_server_thread_with_the_callers_context_and_arguments() -> None:
    def seen(prefix: str, *, suffix: str) -> tuple[str, str, int]:
        return threading.current_thread().name, f"{prefix}{REQUEST.get()}{suffix}", threading.get_ident()

    async def main() -> tuple[tuple[str, str, int], int]:
        REQUEST.set("r-1")
        return await in_thread(seen, "<", suffix=">"), threading.get_ident()

    (name, text, worker), loop_thread = asyncio.run(main())
    assert name.startswith("steward-worker")
    assert worker != loop_thread
    assert text == "<r-1>"


def test_a_context_variable_set_in_the_thread_does_not_leak_back() -> None:
    async def main() -> str:
        REQUEST.set("caller")
        await in_thread(REQUEST.set, "thread")
        return REQUEST.get()

    assert asyncio.run(main()) == "caller"


def test_an_error_in_the_thread_is_raised_to_the_awaiting_request() -> None:
    def fail() -> None:
        raise LookupError("model 'm' does not exist")

    with pytest.raises(LookupError, match="model 'm' does not exist"):
        asyncio.run(in_thread(fail))


def test_as_many_calls_wait_at_once_as_the_pool_has_threads() -> None:
    """Forty requests blocked on the database all get a thread (anyio's default allowance)."""
    barrier = threading.Barrier(THREADS, timeout=10)

    async def main() -> list[int]:
        return await asyncio.gather(*(in_thread(barrier.wait) for _ in range(THREADS)))

    assert sorted(asyncio.run(main())) == list(range(THREADS))
