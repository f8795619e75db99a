"""The read access log: who read which record or evidence, when, from where.

It is a plain append-only table (``read_access_log``), not part of the hash-chained audit log: a
read changes nothing, and chaining every read would serialise reads behind writes. The server
notes each successful ``GET`` of a record (models, versions, lineage, datasets, runs, deployments)
and of evidence; a :class:`ReadRecorder` buffers the notes and writes them in batches from one
background thread, so a read pays for a queue append, not for a database transaction (measured in
``bench/ledger.py``). Listing the log flushes it first, so an auditor sees every read so far; a
crash loses at most the reads of the last flush interval.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from steward.domain import Action, Page, ReadAccess
from steward.service._caller import Caller
from steward.service._events import Clock
from steward.storage import ReadAccessFilter, SqlStore, append_reads


class AccessLogService:
    def __init__(self, store: SqlStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.recorder: ReadRecorder | None = None

    def record(self, reads: Sequence[ReadAccess]) -> None:
        """Append reads now (the server notes them through its :class:`ReadRecorder`)."""
        append_reads(self.store.engine, [_row(read) for read in reads])

    def list_reads(
        self,
        caller: Caller,
        where: ReadAccessFilter,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[ReadAccess]:
        """Reads, newest first (auditors and compliance officers)."""
        caller.authorize(Action.ACCESS_LOG_READ)
        if self.recorder is not None:
            self.recorder.flush()
        with self.store.read() as tx:
            return tx.ledger.list_reads(where, page_size, page_token)

    def start_recording(self, interval: float = 0.2, max_batch: int = 1000) -> ReadRecorder:
        """Buffer noted reads and write them every ``interval`` seconds (0: write each at once)."""
        if self.recorder is None:
            self.recorder = ReadRecorder(self, interval, max_batch)
        return self.recorder


class ReadRecorder:
    """Writes noted reads in batches from a daemon thread; ``flush`` writes what is pending now."""

    def __init__(self, log: AccessLogService, interval: float, max_batch: int) -> None:
        self.log = log
        self.interval = interval
        self.max_batch = max_batch
        self.errors = 0
        self._queue: queue.SimpleQueue[ReadAccess | None] = queue.SimpleQueue()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        if interval > 0:
            self._thread = threading.Thread(target=self._run, name="steward-read-log", daemon=True)
            self._thread.start()

    def note(
        self,
        *,
        principal: str,
        action: str,
        subject_type: str,
        subject_id: str,
        path: str,
        request_id: str = "",
        client_address: str = "",
        user_agent: str = "",
        at: datetime | None = None,
    ) -> None:
        read = ReadAccess(
            id=0,
            time=at or self.log.clock(),
            principal=principal[:128],
            action=action[:64],
            subject_type=subject_type[:64],
            subject_id=subject_id[:512],
            path=path[:2048],
            request_id=request_id[:128],
            client_address=client_address[:128],
            user_agent=user_agent[:512],
        )
        if self._thread is None:
            self.log.record([read])
        else:
            self._queue.put(read)

    def flush(self) -> None:
        """Write every read noted so far."""
        with self._flush_lock:
            while True:
                batch = self._drain()
                if not batch:
                    return
                self._write(batch)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
        self.flush()

    def _drain(self) -> list[ReadAccess]:
        batch: list[ReadAccess] = []
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # keep the stop signal for the thread
                break
            batch.append(item)
        return batch

    def _write(self, batch: list[ReadAccess]) -> None:
        try:
            self.log.record(batch)
        except Exception:  # the server keeps answering; the count shows in bench and tests
            self.errors += 1

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.interval)
            except queue.Empty:
                continue
            if first is None:
                return
            with self._flush_lock:
                batch = [first, *self._drain()]
                self._write(batch)
            time.sleep(self.interval)  # let the next batch gather


def _row(read: ReadAccess) -> dict[str, Any]:
    """The table row of a read (by hand: ``dataclasses.asdict`` costs ~30x more per row)."""
    return {
        "time": read.time,
        "principal": read.principal,
        "action": read.action,
        "subject_type": read.subject_type,
        "subject_id": read.subject_id,
        "path": read.path,
        "request_id": read.request_id,
        "client_address": read.client_address,
        "user_agent": read.user_agent,
    }
