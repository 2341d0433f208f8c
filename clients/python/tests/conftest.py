"""Fixtures for tests against a real document service (and its PostgreSQL).

``scripts/test-python-client.sh`` starts the service on a fresh schema and exports
``DOCSTORE_URL`` / ``DOCSTORE_KEY``. Each test starts from empty collections.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from parlant.core.common import IdGenerator
from parlant.core.loggers import Logger, LogLevel, StdoutLogger
from parlant.core.tracer import LocalTracer

from parlant_docstore import SupabaseDocumentDatabase

# Every collection Parlant's three stores use (SPEC section 3), plus the tests' own.
COLLECTIONS = {
    "sessions": ["sessions", "events", "metadata", "things"],
    "customers": ["customers", "customer_tag_associations", "metadata"],
    "variables": ["variables", "variable_tag_associations", "values", "metadata"],
}


def _service() -> tuple[str, str]:
    url, key = os.environ.get("DOCSTORE_URL"), os.environ.get("DOCSTORE_KEY")
    if not url or not key:
        pytest.exit(
            "DOCSTORE_URL and DOCSTORE_KEY are not set: run scripts/test-python-client.sh, which "
            "starts the service for these tests.",
            returncode=2,
        )
    return url, key


@pytest.fixture(scope="session")
def service() -> tuple[str, str]:
    return _service()


class Raw:
    """Direct HTTP access to the service, to set up and inspect what the client wrote."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def insert(self, store: str, collection: str, document: Any) -> Any:
        response = self.client.post(f"/{store}/{collection}", json=document)
        assert response.status_code == 201, response.text
        return response.json()

    def insert_many(self, store: str, collection: str, documents: list[Any]) -> None:
        for start in range(0, len(documents), 500):
            response = self.client.post(f"/{store}/{collection}", json=documents[start : start + 500])
            assert response.status_code == 201, response.text

    def get(self, store: str, collection: str, id: str) -> Any | None:
        response = self.client.get(f"/{store}/{collection}/{quote(id, safe='')}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, store: str, collection: str) -> list[Any]:
        response = self.client.get(f"/{store}/{collection}")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def failed(self, store: str, collection: str) -> list[Any]:
        response = self.client.get(f"/{store}/{collection}:failedMigrations")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    def drop(self, store: str, collection: str) -> None:
        response = self.client.delete(f"/{store}/{collection}")
        assert response.status_code == 204, response.text


@pytest.fixture(scope="session")
def raw(service: tuple[str, str]) -> Iterator[Raw]:
    client = Raw(*service)
    yield client
    client.client.close()


@pytest.fixture(autouse=True)
def empty_collections(raw: Raw) -> None:
    for store, names in COLLECTIONS.items():
        for name in names:
            raw.drop(store, name)


@pytest.fixture(scope="session")
def logger() -> Logger:
    return StdoutLogger(LocalTracer(), log_level=LogLevel.WARNING, logger_id="parlant_docstore_tests")


@pytest.fixture
def id_generator() -> IdGenerator:
    return IdGenerator()


class Recorder(httpx.AsyncBaseTransport):
    """An httpx transport that records each request's method and path, then sends it for real."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.raw_path.decode("ascii").split("?")[0]))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def make_db(service: tuple[str, str], logger: Logger) -> Callable[..., SupabaseDocumentDatabase]:
    """A database for a table prefix, with the service's URL and key from the environment."""

    def make(table_prefix: str, **kwargs: Any) -> SupabaseDocumentDatabase:
        return SupabaseDocumentDatabase(logger=logger, table_prefix=table_prefix, **kwargs)

    return make


@pytest.fixture
async def sessions_db(
    make_db: Callable[..., SupabaseDocumentDatabase],
) -> AsyncIterator[SupabaseDocumentDatabase]:
    async with make_db("parlant_sessions_") as db:
        yield db
