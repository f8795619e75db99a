"""Named locks (``SqlStore.exclusive``): the holders of one name take turns, in one process on each
backend, and across server processes sharing a PostgreSQL database."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.synchronize import Event

import pytest

from steward.storage import SqlStore, make_engine


def _holder(url: str, name: str, held: Event, release: Event) -> None:
    """Another server process: hold ``name`` until told to let go."""
    store = SqlStore(make_engine(url))
    with store.exclusive(name):
        held.set()
        release.wait(60)


def _waiter(store: SqlStore, name: str) -> tuple[threading.Thread, threading.Event]:
    """A thread that takes ``name`` once it is free (and sets the event it gives back)."""
    got = threading.Event()

    def take() -> None:
        with store.exclusive(name):
            got.set()

    thread = threading.Thread(target=take)
    thread.start()
    return thread, got


def test_holders_of_one_name_in_one_process_take_turns_and_other_names_are_free(database_url: str) -> None:
    first, second = SqlStore(make_engine(database_url)), SqlStore(make_engine(database_url))
    with first.exclusive("guard:m@production"):
        thread, got = _waiter(second, "guard:m@production")
        with second.exclusive("guard:m@champion"):  # another name is not held up
            pass
        assert not got.wait(0.5)
    thread.join(10)
    assert got.is_set()
    with first.exclusive("guard:m@production"):  # released after an error in the block too
        pass
    with pytest.raises(RuntimeError), first.exclusive("guard:m@production"):
        raise RuntimeError("the platform failed")
    thread, got = _waiter(second, "guard:m@production")
    thread.join(10)
    assert got.is_set()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_servers_sharing_a_postgresql_database_take_turns(database_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    held, release = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_holder, args=(database_url, "guard:m@production", held, release))
    other.start()
    try:
        assert held.wait(60), "the other server did not take the lock"
        store = SqlStore(make_engine(database_url))
        thread, got = _waiter(store, "guard:m@production")
        assert not got.wait(0.5), "the lock was taken while the other server held it"
        release.set()
        thread.join(30)
        assert got.is_set()
    finally:
        release.set()
        other.join(30)
    assert other.exitcode == 0
