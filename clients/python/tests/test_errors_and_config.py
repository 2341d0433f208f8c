"""Configuration, the store rule, errors, and which requests are retried."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from parlant.core.loggers import Logger
from parlant.core.common import Version
from parlant.core.persistence.common import ObjectId
from parlant.core.persistence.document_database import BaseDocument, identity_loader

from parlant_docstore import (
    AuthenticationError,
    ConfigurationError,
    DocumentServiceError,
    NotFoundError,
    PermissionDeniedError,
    ServiceConnectionError,
    ServiceUnavailableError,
    SupabaseAdapterError,
    SupabaseDocumentDatabase,
    store_for_prefix,
)

MakeDB = Callable[..., SupabaseDocumentDatabase]


def test_store_from_table_prefix() -> None:
    assert store_for_prefix("parlant_sessions_") == "sessions"
    assert store_for_prefix("parlant_customers_") == "customers"
    assert store_for_prefix("parlant_context_variables_") == "variables"
    assert store_for_prefix("MY_VARIABLES_") == "variables"
    assert store_for_prefix("anything", store="Customers") == "customers"
    assert store_for_prefix(None, store="context_variables") == "variables"
    with pytest.raises(ConfigurationError, match="store="):
        store_for_prefix("parlant_")
    with pytest.raises(ConfigurationError, match="sessions and customers"):
        store_for_prefix("customer_sessions_")
    with pytest.raises(ConfigurationError):
        store_for_prefix("parlant_sessions_", store="agents")


def test_url_and_key_are_required(logger: Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCSTORE_URL", raising=False)
    monkeypatch.delenv("DOCSTORE_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="DOCSTORE_URL and DOCSTORE_KEY"):
        SupabaseDocumentDatabase(logger=logger, table_prefix="parlant_sessions_")
    with pytest.raises(ConfigurationError, match="DOCSTORE_KEY"):
        SupabaseDocumentDatabase(logger, {"url": "http://127.0.0.1:1"}, table_prefix="parlant_sessions_")
    with pytest.raises(ConfigurationError, match="http"):
        SupabaseDocumentDatabase(logger, url="127.0.0.1:8080", key="k", table_prefix="parlant_sessions_")
    # connection_params as the seed adapter takes them
    SupabaseDocumentDatabase(logger, {"url": "http://h:1", "key": "k"}, table_prefix="parlant_sessions_")


async def test_a_wrong_key_fails_at_start(make_db: MakeDB) -> None:
    database = make_db("parlant_sessions_", key="not-the-key-" * 3)
    with pytest.raises(AuthenticationError) as error:
        async with database:
            pass
    assert error.value.status == 401 and error.value.code == "unauthorized"
    assert isinstance(error.value, DocumentServiceError) and isinstance(error.value, SupabaseAdapterError)
    assert "not-the-key" not in str(error.value)


async def test_a_read_only_key_reads_and_gets_permission_denied_on_writes(make_db: MakeDB) -> None:
    read_key = os.environ["DOCSTORE_READ_KEY"]
    created = "2026-01-01T00:00:00+00:00"
    async with make_db("parlant_sessions_") as writer:
        collection = await writer.get_or_create_collection("read_only_probe", BaseDocument, identity_loader)
        await collection.insert_one(
            {"id": ObjectId("kept"), "version": Version.String("0.1.0"), "creation_utc": created}
        )
    async with make_db("parlant_sessions_", key=read_key) as reader:
        readable = await reader.get_collection("read_only_probe", BaseDocument, identity_loader)
        assert [document["id"] for document in await readable.find({})] == ["kept"]
        with pytest.raises(PermissionDeniedError) as error:
            await readable.insert_one(
                {"id": ObjectId("refused"), "version": Version.String("0.1.0"), "creation_utc": created}
            )
        assert error.value.status == 403 and error.value.code == "forbidden"
        assert "access=read" in str(error.value) and read_key not in str(error.value)
        with pytest.raises(PermissionDeniedError):
            await reader.delete_collection("read_only_probe")
        assert [document["id"] for document in await readable.find({})] == ["kept"]


async def test_an_unreachable_service_is_a_connection_error(logger: Logger) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    database = SupabaseDocumentDatabase(
        logger, url=f"http://127.0.0.1:{port}", key="k" * 32, table_prefix="parlant_sessions_", max_retries=1
    )
    with pytest.raises(ServiceConnectionError) as error:
        async with database:
            pass
    assert error.value.status is None and error.value.maybe_applied is False
    assert "DOCSTORE_URL" in str(error.value)


def scripted(
    answers: list[Any], seen: list[tuple[str, str]], request_ids: list[str] | None = None
) -> httpx.MockTransport:
    """A transport answering from a script: a status code (503 with Retry-After), an exception, or
    a JSON body with 200. It records each request's method and path, and its X-Request-Id when
    ``request_ids`` is given."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request_ids is not None:
            request_ids.append(request.headers["x-request-id"])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == 503:
            return httpx.Response(
                503,
                headers={"Retry-After": "0"},
                json={"error": {"code": "database_unavailable", "message": "The database is unreachable."}},
            )
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handle)


async def test_reads_are_retried_and_writes_are_not(logger: Logger) -> None:
    seen: list[tuple[str, str]] = []
    empty = {"items": [], "total_count": 0, "has_more": False, "next_cursor": None}
    answers: list[Any] = [empty, {"versions": []}, 503, 503, empty, 503, httpx.ReadError("reset"), 503]
    database = SupabaseDocumentDatabase(
        logger,
        url="http://docstore.invalid",
        key="k" * 32,
        table_prefix="parlant_sessions_",
        transport=scripted(answers, seen),
    )
    async with database:
        things = await database.get_collection("things", dict, identity_loader)  # type: ignore[arg-type]
        assert seen[-1] == ("GET", "/sessions/things:versions")
        # Three attempts for a find: 503, 503, then the answer.
        seen.clear()
        assert (await things.find({"a": 1})).items == []  # type: ignore[dict-item]
        assert len(seen) == 3
        # An insert is not repeated after a 503: it may have been applied.
        seen.clear()
        with pytest.raises(ServiceUnavailableError) as unavailable:
            await things.insert_one({"id": "x"})
        assert unavailable.value.retry_after == 0 and unavailable.value.status == 503 and len(seen) == 1
        # Nor an update_one after a broken connection.
        seen.clear()
        with pytest.raises(ServiceConnectionError) as broken:
            await things.update_one({"id": "x"}, {"a": 1})  # type: ignore[dict-item]
        assert broken.value.maybe_applied and len(seen) == 1
        # Nor a delete_one after a 503.
        seen.clear()
        with pytest.raises(ServiceUnavailableError):
            await things.delete_one({"id": "x"})  # type: ignore[dict-item]
        assert len(seen) == 1


async def test_errors_carry_code_and_status(sessions_db: SupabaseDocumentDatabase) -> None:
    things = await sessions_db.get_or_create_collection("things", dict, identity_loader)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError) as missing:
        await things._http.request("GET", "/sessions/things/nope", idempotent=True)
    assert (missing.value.status, missing.value.code) == (404, "document_not_found")
    assert "GET /sessions/things/nope: 404 document_not_found" in str(missing.value)


async def test_errors_carry_the_request_id_the_service_logged(
    sessions_db: SupabaseDocumentDatabase,
) -> None:
    things = await sessions_db.get_or_create_collection("things", dict, identity_loader)  # type: ignore[arg-type]
    ids = []
    for _ in range(2):
        with pytest.raises(NotFoundError) as missing:
            await things._http.request("GET", "/sessions/things/nope", idempotent=True)
        request_id = missing.value.request_id
        assert request_id is not None and len(request_id) == 32 and int(request_id, 16) >= 0
        assert f"(request {request_id})" in str(missing.value)
        ids.append(request_id)
    assert ids[0] != ids[1]


async def test_one_request_id_per_call_kept_across_its_retries(logger: Logger) -> None:
    sent: list[str] = []
    empty = {"items": [], "total_count": 0, "has_more": False, "next_cursor": None}
    # Opening, opening the collection, then a find answered after two 503s, then another find.
    answers: list[Any] = [empty, {"versions": []}, 503, 503, empty, empty]
    database = SupabaseDocumentDatabase(
        logger,
        url="http://docstore.invalid",
        key="k" * 32,
        table_prefix="parlant_sessions_",
        transport=scripted(answers, [], sent),
    )
    async with database:
        things = await database.get_collection("things", dict, identity_loader)  # type: ignore[arg-type]
        sent.clear()
        await things.find({"a": 1})  # type: ignore[dict-item]
        await things.find({"a": 1})  # type: ignore[dict-item]
    # A find retried twice after 503 kept its id; the next find has its own.
    assert len(sent) == 4 and sent[0] == sent[1] == sent[2] and sent[3] != sent[0]
    assert all(len(one) == 32 for one in sent)
