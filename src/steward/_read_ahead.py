"""Items read by a thread of their own while the caller works through what came already.

Both the harvest (a platform's listing, read while the last page is written) and the ledger's
verification (the next run of events, read while the last is hashed) use it, so it sits below
every layer and imports nothing but the standard library.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_Chunk = tuple[list[T], BaseException | None, bool]


class ReadAhead(Generic[T]):
    """``items``, read from the moment this is made by a thread of its own, handed over ``chunk``
    at a time and at most ``depth`` chunks ahead of the consumer. An error in the reading is raised
    where its item would have come.

    :meth:`close` (or leaving a ``with`` block, or the consumer's loop) stops the reader wherever
    either side is, and returns once the reader has ended: whatever ``items`` reads from (a
    database cursor, an HTTP client) is the caller's alone again. The reader ends between two
    items, so closing waits for the item being read."""

    def __init__(
        self, items: Iterable[T], *, chunk: int = 1, depth: int = 8, name: str = "steward-read-ahead"
    ) -> None:
        if chunk < 1 or depth < 1:
            raise ValueError(f"chunk and depth must be at least 1, not {chunk} and {depth}")
        self._chunks: queue.Queue[_Chunk[T]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._items = items
        self._chunk = chunk
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                chunk, error, end = self._chunks.get()
                yield from chunk
                if error is not None:
                    raise error
                if end:
                    return
        finally:
            self.close()

    def _hand(self, chunk: list[T], error: BaseException | None = None, end: bool = False) -> bool:
        while not self._stop.is_set():
            try:
                self._chunks.put((chunk, error, end), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        chunk: list[T] = []
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                chunk.append(item)
                if len(chunk) >= self._chunk:
                    if not self._hand(chunk):
                        return
                    chunk = []
        except BaseException as error:  # handed over, raised by the consumer
            self._hand(chunk, error, True)
            return
        self._hand(chunk, None, True)
