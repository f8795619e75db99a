"""A listing read by a thread of its own while the caller works through what came already."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_Chunk = tuple[list[T], BaseException | None, bool]


class ReadAhead(Generic[T]):
    """``items``, read from the moment this is made by a thread of its own, up to a few chunks of
    ``depth`` ahead of the consumer: a platform answers the next page of a listing while the
    caller writes the last. An error in the reading is raised where its item would have come.
    :meth:`close` (or leaving a ``with`` block) stops the reader, wherever either side is."""

    def __init__(self, items: Iterable[T], depth: int, *, name: str = "steward-read-ahead") -> None:
        self._chunks: queue.Queue[_Chunk[T]] = queue.Queue(maxsize=8)
        self._stop = threading.Event()
        self._items = items
        self._depth = depth
        threading.Thread(target=self._read, name=name, daemon=True).start()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()

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
                self._chunks.put((chunk, error, end), timeout=0.1)
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
                if len(chunk) >= self._depth:
                    if not self._hand(chunk):
                        return
                    chunk = []
        except BaseException as error:  # handed over, raised by the consumer
            self._hand(chunk, error, True)
            return
        self._hand(chunk, None, True)
