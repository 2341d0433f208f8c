"""DocstoreSessionListener: Parlant's waits for session events, woken by the service's change feed."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from parlant.core.agents import AgentId
from parlant.core.async_utils import Timeout
from parlant.core.customers import CustomerId
from parlant.core.sessions import EventKind, EventSource, SessionDocumentStore

from parlant_docstore import DocstoreSessionListener, SupabaseDocumentDatabase

MakeDB = Callable[..., SupabaseDocumentDatabase]


async def _event(store: SessionDocumentStore, session_id: Any, data: Any) -> Any:
    return await store.create_event(
        session_id, source=EventSource.CUSTOMER, kind=EventKind.MESSAGE, trace_id="t", data=data
    )


Replicas = tuple[SessionDocumentStore, SessionDocumentStore, DocstoreSessionListener]


@pytest.fixture
async def replicas(make_db: MakeDB) -> AsyncIterator[Replicas]:
    """Two database instances and two stores, standing in for two Parlant replicas; the listener is
    the second's."""
    async with (
        make_db("parlant_sessions_") as db_a,
        make_db("parlant_sessions_") as db_b,
        SessionDocumentStore(db_a, allow_migration=True) as store_a,
        SessionDocumentStore(db_b, allow_migration=True) as store_b,
        DocstoreSessionListener(store_b, db_b) as listener,
    ):
        yield store_a, store_b, listener


async def test_a_waiter_on_one_replica_is_woken_by_an_event_written_through_another(replicas: Replicas) -> None:
    store_a, store_b, listener = replicas
    session = await store_a.create_session(customer_id=CustomerId("c1"), agent_id=AgentId("a1"))
    reads = 0
    list_events = store_b.list_events

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return await list_events(*args, **kwargs)

    store_b.list_events = counted  # type: ignore[method-assign]
    waiter = asyncio.create_task(listener.wait_for_more_events(session.id, min_offset=0, timeout=Timeout(30)))
    await asyncio.sleep(3)
    assert not waiter.done()
    await _event(store_a, session.id, {"message": "hello"})
    assert await asyncio.wait_for(waiter, 10)
    # Woken by the feed, not by a timer: one read at the start, one after the event (a timer
    # would have read a dozen times in those 3 s).
    assert reads <= 3, reads


async def test_a_wait_with_nothing_new_ends_at_its_timeout(make_db: MakeDB) -> None:
    async with (
        make_db("parlant_sessions_") as db,
        SessionDocumentStore(db, allow_migration=True) as store,
        DocstoreSessionListener(store, db) as listener,
    ):
        session = await store.create_session(customer_id=CustomerId("c1"), agent_id=AgentId("a1"))
        await _event(store, session.id, {"message": "first"})
        started = time.monotonic()
        assert not await listener.wait_for_more_events(session.id, min_offset=1, timeout=Timeout(1))
        assert time.monotonic() - started >= 0.9
        # An event that is there already answers at once, as with the polling listener.
        assert await listener.wait_for_more_events(session.id, min_offset=0, timeout=Timeout(1))


async def test_streaming_chunks_arrive_as_merges_of_the_event(replicas: Replicas) -> None:
    store_a, _, listener = replicas
    session = await store_a.create_session(customer_id=CustomerId("c1"), agent_id=AgentId("a1"))
    event = await _event(store_a, session.id, {"chunks": []})
    grew = asyncio.create_task(
        listener.wait_for_new_streaming_chunks(session.id, event.id, 0, timeout=Timeout(30))
    )
    completed = asyncio.create_task(listener.wait_for_event_completion(session.id, event.id, timeout=Timeout(30)))
    await asyncio.sleep(0.5)
    assert not grew.done() and not completed.done()
    await store_a.update_event(session.id, event.id, {"data": {"chunks": ["Hel"]}})
    assert await asyncio.wait_for(grew, 10)
    await asyncio.sleep(0.5)
    assert not completed.done(), "one chunk does not complete the event"
    await store_a.update_event(session.id, event.id, {"data": {"chunks": ["Hel", "lo", None]}})
    assert await asyncio.wait_for(completed, 10)
    # A timeout, and an event without chunks, answer as the polling listener does.
    quiet = await _event(store_a, session.id, {"chunks": []})
    assert not await listener.wait_for_new_streaming_chunks(session.id, quiet.id, 0, timeout=Timeout(0.5))
    plain = await _event(store_a, session.id, {"message": "no chunks"})
    assert await listener.wait_for_event_completion(session.id, plain.id, timeout=Timeout(1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Replica:
    """A second service process on the same database and schema, which the test stops and starts."""

    def __init__(self) -> None:
        missing = [name for name in ("DOCSTORE_BIN", "DOCSTORE_DATABASE_URL", "DOCSTORE_SCHEMA") if not os.environ.get(name)]
        if missing:
            pytest.fail(f"{', '.join(missing)} not set: run scripts/test-python-client.sh")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {
            **os.environ,
            "DATABASE_URL": os.environ["DOCSTORE_DATABASE_URL"],
            "SUPABASE_SCHEMA": os.environ["DOCSTORE_SCHEMA"],
            "SERVICE_KEY": os.environ["DOCSTORE_KEY"],
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
        }
        environment.pop("SERVICE_KEY_FILE", None)
        self.process = subprocess.Popen(
            [os.environ["DOCSTORE_BIN"]], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the second service did not answer /healthz within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def replica() -> Iterator[_Replica]:
    process = _Replica()
    process.start()
    yield process
    process.stop()


async def test_a_wait_survives_a_restart_of_the_service_it_listens_to(make_db: MakeDB, replica: _Replica) -> None:
    async with (
        make_db("parlant_sessions_") as db_a,
        make_db("parlant_sessions_", url=replica.url) as db_b,
        SessionDocumentStore(db_a, allow_migration=True) as store_a,
        SessionDocumentStore(db_b, allow_migration=True) as store_b,
        DocstoreSessionListener(store_b, db_b, reconnect_delay=0.5) as listener,
    ):
        session = await store_a.create_session(customer_id=CustomerId("c1"), agent_id=AgentId("a1"))
        waiter = asyncio.create_task(listener.wait_for_more_events(session.id, min_offset=0, timeout=Timeout(60)))
        await asyncio.sleep(1)
        await asyncio.to_thread(replica.stop)
        # Written while the service the waiter listens to is down: no feed could carry it.
        await _event(store_a, session.id, {"message": "while you were away"})
        await asyncio.sleep(1)
        assert not waiter.done()
        await asyncio.to_thread(replica.start)
        assert await asyncio.wait_for(waiter, 30)
