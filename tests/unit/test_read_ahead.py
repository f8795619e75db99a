"""The read-ahead shared by the harvest's listing and the ledger's verification reads: items in
order from a thread of their own, errors raised where their item would be, and a close that
returns only once the reader has ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from steward._read_ahead import ReadAhead
from steward.errors import Unavailable


def alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


@pytest.mark.parametrize("chunk", [1, 64, 5_000])
def test_items_come_in_order_read_by_another_thread(chunk: int) -> None:
    readers: set[str] = set()

    def items() -> Iterator[int]:
        for n in range(1_000):
            readers.add(threading.current_thread().name)
            yield n

    assert list(ReadAhead(items(), chunk=chunk, name="reader")) == list(range(1_000))
    assert readers == {"reader"}


def test_an_error_in_the_reading_is_raised_after_every_item_read_before_it() -> None:
    def items() -> Iterator[int]:
        yield from range(10)
        raise Unavailable("MLflow at http://mlflow went away while listing model versions")

    got: list[int] = []
    with pytest.raises(Unavailable, match="went away while listing"):
        got.extend(ReadAhead(items(), chunk=4))
    assert got == list(range(10))


def test_leaving_the_loop_early_ends_the_reader_before_the_loop_is_left() -> None:
    read = 0

    def items() -> Iterator[int]:
        nonlocal read
        for n in range(1_000_000):
            read = n
            yield n

    ahead = ReadAhead(items(), chunk=10, depth=2, name="early")
    for n in ahead:
        if n == 5:
            break
    ahead.close()  # what the loop's generator does when it is closed or collected
    assert not alive("early")
    assert read < 100  # a few chunks ahead at most, then it stopped


def test_the_reading_starts_at_once_and_closing_before_reading_ends_it() -> None:
    started = threading.Event()

    def items() -> Iterator[int]:
        started.set()
        yield from range(1_000_000)

    with ReadAhead(items(), chunk=10, name="unread"):
        assert started.wait(10)  # before anyone asked for an item
    assert not alive("unread")


def test_closing_waits_for_the_item_being_read() -> None:
    reading, finished = threading.Event(), threading.Event()

    def items() -> Iterator[int]:
        yield 1
        reading.set()
        time.sleep(0.3)  # a slow page or statement, under way when the consumer closes
        finished.set()
        yield 2

    ahead = ReadAhead(items(), name="slow")
    assert reading.wait(10)
    ahead.close()
    assert finished.is_set() and not alive("slow")  # the source is the caller's alone again


@pytest.mark.parametrize(("chunk", "depth"), [(0, 8), (1, 0)])
def test_a_chunk_or_depth_below_one_is_refused(chunk: int, depth: int) -> None:
    with pytest.raises(ValueError, match="chunk and depth must be at least 1"):
        ReadAhead(iter(()), chunk=chunk, depth=depth)
