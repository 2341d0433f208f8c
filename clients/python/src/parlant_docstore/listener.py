"""A Parlant ``SessionListener`` woken by the service's change feed instead of a timer."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, cast

import httpx
from parlant.core.async_utils import Timeout
from parlant.core.sessions import (
    EventId,
    EventKind,
    EventSource,
    SessionId,
    SessionListener,
    SessionStore,
)
from typing_extensions import Self, override

from ._http import __version__
from .database import SupabaseDocumentDatabase
from .errors import ServiceConnectionError, ServiceUnavailableError

# A position after every document (creation_utc compares by code point): the feed starts with no
# catch-up, only the changes from now on.
_AFTER_EVERYTHING = (
    base64.urlsafe_b64encode(json.dumps(["9999-12-31T23:59:59.999999+00:00", "\uffff"]).encode())
    .decode()
    .rstrip("=")
)


class DocstoreSessionListener(SessionListener):
    """Parlant's ``SessionListener``, woken by the service's change feed (``GET :watch``).

    It makes the decisions ``PollingSessionListener`` makes, from the same store reads, but reads
    only when the feed says that an event of the session (or the awaited event) was written,
    through any Parlant replica, instead of every 250 ms. One feed (one HTTP stream) serves every
    waiter of the instance. While the feed is down (the service restarting, say), waiters read
    every ``reconnect_delay`` seconds and the feed reconnects at that pace; when it is back, every
    waiter reads again, so nothing written meanwhile is missed.

    Args:
        session_store: the ``SessionStore`` whose events are awaited (``SessionDocumentStore`` over
            ``database``, or over another instance on the same service).
        database: the sessions ``SupabaseDocumentDatabase``; its URL and key are used for the feed.
        collection: the collection of the events (Parlant's ``events``).
        reconnect_delay: seconds between attempts to reach the feed while it is down.

    Use it as an async context manager (or call :meth:`aclose`) to close the feed.
    """

    def __init__(
        self,
        session_store: SessionStore,
        database: SupabaseDocumentDatabase,
        *,
        collection: str = "events",
        reconnect_delay: float = 1.0,
    ) -> None:
        self._store = session_store
        self._path = f"{database._collection_path(collection)}:watch"
        self._base_url = database._http.base_url
        self._key = database._http.key
        self._reconnect_delay = reconnect_delay
        # Waiters by what wakes them: ("session", id) or ("event", id).
        self._waiters: dict[tuple[str, str], set[asyncio.Event]] = {}
        self._connected = asyncio.Event()
        self._feed: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        await self.aclose()
        return False

    async def aclose(self) -> None:
        """Closes the feed; waiters still waiting then read at the ``reconnect_delay`` pace."""
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.cancel()
            try:
                await feed
            except asyncio.CancelledError:
                pass
        self._connected.clear()

    # -- SessionListener -----------------------------------------------------------------------

    @override
    async def wait_for_more_events(
        self,
        session_id: SessionId,
        kinds: Sequence[EventKind] = [],
        min_offset: int | None = None,
        source: EventSource | None = None,
        trace_id: str | None = None,
        timeout: Timeout = Timeout.infinite(),
    ) -> bool:
        # Raises when the session does not exist, as the polling listener does.
        _ = await self._store.read_session(session_id)

        async def arrived() -> bool:
            events = await self._store.list_events(
                session_id, min_offset=min_offset, source=source, kinds=kinds, trace_id=trace_id
            )
            return bool(events)

        return await self._wait(("session", session_id), arrived, timeout)

    @override
    async def wait_for_event_completion(
        self,
        session_id: SessionId,
        event_id: EventId,
        timeout: Timeout = Timeout.infinite(),
    ) -> bool:
        _ = await self._store.read_session(session_id)

        async def completed() -> bool:
            chunks = await self._chunks(session_id, event_id)
            return chunks is None or (bool(chunks) and chunks[-1] is None)

        return await self._wait(("event", event_id), completed, timeout)

    @override
    async def wait_for_new_streaming_chunks(
        self,
        session_id: SessionId,
        event_id: EventId,
        last_known_chunk_count: int,
        timeout: Timeout = Timeout.infinite(),
    ) -> bool:
        _ = await self._store.read_session(session_id)

        async def grew() -> bool:
            chunks = await self._chunks(session_id, event_id)
            return chunks is None or len(chunks) > last_known_chunk_count or (bool(chunks) and chunks[-1] is None)

        return await self._wait(("event", event_id), grew, timeout)

    async def _chunks(self, session_id: SessionId, event_id: EventId) -> list[str | None] | None:
        """The event's streamed chunks (the last is ``None`` once complete), or ``None`` for an event
        that does not stream."""
        event = await self._store.read_event(session_id, event_id)
        data = cast(dict[str, object], event.data)
        return cast(list[str | None], data["chunks"]) if "chunks" in data else None

    # -- waiting -------------------------------------------------------------------------------

    async def _wait(self, key: tuple[str, str], check: Callable[[], Awaitable[bool]], timeout: Timeout) -> bool:
        wake = asyncio.Event()
        self._waiters.setdefault(key, set()).add(wake)
        try:
            self._start_feed()
            # Joined before the first read: whatever is written after that read wakes this waiter.
            await self._wait_for(self._connected, min(timeout.remaining(), self._reconnect_delay))
            while True:
                wake.clear()
                try:
                    if await check():
                        return True
                except (ServiceConnectionError, ServiceUnavailableError):
                    pass  # the service is restarting: read again at the reconnect pace
                if timeout.expired():
                    return False
                limit = timeout.remaining()
                if not self._connected.is_set():
                    limit = min(limit, self._reconnect_delay)
                await self._wait_for(wake, limit)
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[key]

    @staticmethod
    async def _wait_for(event: asyncio.Event, seconds: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout=None if math.isinf(seconds) else max(seconds, 0.0))
        except asyncio.TimeoutError:
            pass

    def _wake(self, key: tuple[str, str]) -> None:
        for wake in self._waiters.get(key, ()):
            wake.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()

    # -- the feed ------------------------------------------------------------------------------

    def _start_feed(self) -> None:
        if self._feed is None or self._feed.done():
            self._feed = asyncio.get_running_loop().create_task(self._run_feed())

    async def _run_feed(self) -> None:
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers={
                "Authorization": f"Bearer {self._key}",
                "Accept": "text/event-stream",
                "User-Agent": f"parlant-docstore/{__version__}",
            },
            # No read timeout: the stream is quiet between events (a comment comes every 15 s).
            timeout=httpx.Timeout(10.0, read=None),
        ) as client:
            while True:
                try:
                    async with client.stream("GET", self._path, params={"cursor": _AFTER_EVERYTHING}) as response:
                        if response.status_code == 200:
                            self._connected.set()
                            self._wake_all()  # anything may have been written while it was down
                            await self._read_events(response)
                except httpx.HTTPError:
                    pass
                self._connected.clear()
                self._wake_all()
                await asyncio.sleep(self._reconnect_delay)

    async def _read_events(self, response: httpx.Response) -> None:
        kind: str | None = None
        data: str | None = None
        async for line in response.aiter_lines():
            if line == "":
                if kind is not None and data is not None:
                    self._dispatch(kind, data)
                kind, data = None, None
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    kind = value
                elif field == "data":
                    data = value

    def _dispatch(self, kind: str, data: str) -> None:
        try:
            document: Any = json.loads(data)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        if isinstance(document.get("id"), str):
            self._wake(("event", document["id"]))
        if kind == "upsert" and isinstance(document.get("session_id"), str):
            self._wake(("session", document["session_id"]))
