"""``get_collection`` runs Parlant's document loaders: old documents are migrated (rewritten whole
with PUT), unloadable ones are quarantined (moved to the failed-migrations table)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from parlant.core.common import IdGenerator
from parlant.core.context_variables import ContextVariableDocumentStore, ContextVariableId
from parlant.core.customers import CustomerDocumentStore, CustomerId
from parlant.core.persistence.common import MigrationRequired
from parlant.core.sessions import SessionDocumentStore, SessionId

from parlant_docstore import SupabaseDocumentDatabase

from .conftest import Raw, Recorder

MakeDB = Callable[..., SupabaseDocumentDatabase]


def _session_v0_8_0(id: str, minute: int) -> dict[str, Any]:
    return {
        "id": id,
        "version": "0.8.0",
        "creation_utc": f"2024-05-01T10:{minute:02d}:00+00:00",
        "customer_id": "old-customer",
        "agent_id": "old-agent",
        "mode": "auto",
        "title": f"from 0.8.0 #{minute}",
        "consumption_offsets": {"client": 3},
        "agent_states": [],
        "metadata": {"source": "legacy"},
    }


def _session_v0_5_0(id: str) -> dict[str, Any]:
    return {
        "id": id,
        "version": "0.5.0",
        "creation_utc": "2024-01-01T00:00:00+00:00",
        "customer_id": "old-customer",
        "agent_id": "old-agent",
        "mode": "manual",
        "title": None,
        "consumption_offsets": {"client": 0},
        "agent_state": {"applied_guideline_ids": [], "journey_paths": {}, "correlation_id": "x"},
    }


async def test_old_version_documents_are_migrated_with_whole_document_puts(make_db: MakeDB, raw: Raw) -> None:
    raw.insert(
        "sessions",
        "metadata",
        {"id": "meta", "version": "0.8.0", "creation_utc": "2024-01-01T00:00:00+00:00"},
    )
    old = [_session_v0_8_0(f"old-{i}", i) for i in range(5)] + [_session_v0_5_0("ancient")]
    raw.insert("sessions", "sessions", old)

    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db, allow_migration=True) as store:
        current = await store.create_session(CustomerId("new"), agent_id=old[0]["agent_id"])  # type: ignore[arg-type]

    # Rewritten in place: now version 0.9.0 with Parlant's new fields, nothing else lost.
    for document in old[:5]:
        migrated = raw.get("sessions", "sessions", document["id"])
        assert migrated == {**document, "version": "0.9.0", "labels": []}
    ancient = raw.get("sessions", "sessions", "ancient")
    assert ancient is not None
    assert (ancient["version"], ancient["agent_states"], ancient["metadata"], ancient["labels"]) == (
        "0.9.0",
        [],
        {},
        [],
    )
    assert "agent_state" not in ancient  # a whole-document replace, not a merge
    meta = raw.get("sessions", "metadata", "meta")
    assert meta is not None and meta["version"] == "0.9.0"

    # Through PUT, once per changed document, and only for those; in pages of loader_page_size
    # (the full pass, which reads every document).
    recorder = Recorder()
    async with make_db("parlant_sessions_", transport=recorder, loader_page_size=2, full_scan=True) as db:
        await raw_to_old(raw, "old-1")
        async with SessionDocumentStore(db, allow_migration=True) as store:
            assert (await store.read_session(SessionId("old-1"))).labels == set()
            assert (await store.read_session(current.id)).customer_id == "new"
    puts = [path for method, path in recorder.requests if method == "PUT" and path.count("/") == 3]
    assert puts == ["/sessions/sessions/old-1"]
    finds = [path for method, path in recorder.requests if path == "/sessions/sessions:find"]
    assert len(finds) >= 4  # 7 documents, 2 a page


async def raw_to_old(raw: Raw, id: str) -> None:
    """Puts one session back to version 0.8.0, as an older Parlant would have left it."""
    document = raw.get("sessions", "sessions", id)
    assert document is not None
    document.pop("labels")
    document["version"] = "0.8.0"
    response = raw.client.put(f"/sessions/sessions/{id}", json=document)
    assert response.status_code == 200, response.text


async def test_a_migration_that_moves_documents_forward_loads_each_once(
    make_db: MakeDB, raw: Raw, id_generator: IdGenerator
) -> None:
    # Context variables 0.2.0 -> 0.3.0 get a new creation_utc (now): the rewritten documents move
    # to the end of the keyset order while the loader is still paging.
    raw.insert(
        "variables",
        "variables",
        [
            {
                "id": f"var-{i}",
                "version": "0.2.0",
                "name": f"v{i}",
                "description": None,
                "tool_id": None,
                "freshness_rules": None,
                "creation_utc": f"2023-01-0{i + 1}T00:00:00+00:00",
            }
            for i in range(5)
        ],
    )
    raw.insert(
        "variables",
        "values",
        {
            "id": "val-1",
            "version": "0.1.0",
            "last_modified": "2023-02-01T00:00:00+00:00",
            "variable_set": "s",
            "variable_id": "var-0",
            "key": "k",
            "data": {"n": 1},
        },
    )
    recorder = Recorder()
    async with (
        make_db("parlant_context_variables_", transport=recorder, loader_page_size=2) as db,
        ContextVariableDocumentStore(id_generator, db, allow_migration=True) as store,
    ):
        variables = await store.list_variables()
        assert sorted(v.name for v in variables) == [f"v{i}" for i in range(5)]
        value = await store.read_value(ContextVariableId("var-0"), "k")
        assert value is not None and value.data == {"n": 1}
    puts = sorted(path for method, path in recorder.requests if method == "PUT" and path.count("/") == 3)
    assert puts == ["/variables/values/val-1"] + [f"/variables/variables/var-{i}" for i in range(5)]
    assert all(d["version"] == "0.3.0" for d in raw.all("variables", "variables"))
    assert raw.failed("variables", "variables") == []


async def test_migration_required_without_allow_migration(make_db: MakeDB, raw: Raw) -> None:
    raw.insert("sessions", "metadata", {"id": "meta", "version": "0.8.0"})
    async with make_db("parlant_sessions_") as db:
        with pytest.raises(MigrationRequired):
            async with SessionDocumentStore(db, allow_migration=False):
                pass


async def test_unloadable_documents_are_quarantined(
    make_db: MakeDB, raw: Raw, id_generator: IdGenerator
) -> None:
    async with make_db("parlant_customers_") as db, CustomerDocumentStore(id_generator, db) as store:
        kept = await store.create_customer("Kept", id=CustomerId("kept"))
    garbage = [
        {"id": "future", "version": "7.0.0", "name": "From a newer Parlant"},  # loader returns None
        {"id": "no-version", "hello": "world", "nested": {"a": [1, 2.5, "x"]}},  # loader raises KeyError
    ]
    raw.insert("customers", "customers", garbage)
    raw.insert(
        "sessions",
        "sessions",
        {"id": "half", "version": "0.8.0", "creation_utc": "2024-01-01T00:00:00+00:00"},
    )

    async with make_db("parlant_customers_") as db, CustomerDocumentStore(id_generator, db) as store:
        assert {c.id for c in (await store.list_customers()).items} == {"guest", "kept"}
        assert (await store.read_customer(kept.id)).name == "Kept"
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db, allow_migration=True) as sessions:
        assert (await sessions.list_sessions()).items == []

    # Gone from the collections, kept whole in the failed-migrations tables.
    assert {d["id"] for d in raw.all("customers", "customers")} == {"kept"}  # the guest is not stored
    failed = {d["id"]: d for d in raw.failed("customers", "customers")}
    assert set(failed) == {"future", "no-version"}
    for document in garbage:
        stored = failed[document["id"]]
        assert {k: stored[k] for k in document} == document
    assert [d["id"] for d in raw.all("sessions", "sessions")] == []
    assert [d["id"] for d in raw.failed("sessions", "sessions")] == ["half"]

    # Opening again finds nothing more to do.
    recorder = Recorder()
    async with (
        make_db("parlant_customers_", transport=recorder) as db,
        CustomerDocumentStore(id_generator, db),
    ):
        pass
    assert not [
        p for m, p in recorder.requests if p.endswith(":quarantine") or (m == "PUT" and p.count("/") == 3)
    ]
    assert len(raw.failed("customers", "customers")) == 2


async def test_get_collection_quarantines_what_a_loader_rejects_or_fails_on(
    sessions_db: SupabaseDocumentDatabase, raw: Raw
) -> None:
    raw.insert("sessions", "things", [{"id": f"t{i}", "n": i} for i in range(6)])

    async def loader(document: Any) -> Any:
        if document["n"] == 1:
            return None
        if document["n"] == 2:
            raise ValueError("cannot read this one")
        if document["n"] == 3:
            return {**document, "n": 30}
        return document

    collection = await sessions_db.get_collection("things", dict, loader)  # type: ignore[arg-type]
    assert sorted(d["n"] for d in (await collection.find({})).items) == [0, 4, 5, 30]
    assert sorted(d["id"] for d in raw.failed("sessions", "things")) == ["t1", "t2"]
    assert raw.get("sessions", "things", "t3") == {
        "id": "t3",
        "n": 30,
        "creation_utc": raw.get("sessions", "things", "t3")["creation_utc"],
    }  # type: ignore[index]
    # Once per instance: a second get_collection does not run the loader again.
    calls = 0

    async def counting(document: Any) -> Any:
        nonlocal calls
        calls += 1
        return document

    await sessions_db.get_collection("things", dict, counting)  # type: ignore[arg-type]
    assert calls == 0


def counting_loaders(db: SupabaseDocumentDatabase) -> dict[str, int]:
    """Counts the document loader's calls per collection on ``db`` (by wrapping the loaders Parlant's
    stores hand to ``get_collection`` and ``get_or_create_collection``)."""
    calls: dict[str, int] = {}

    counting: set[Any] = set()

    def wrap(method: Any) -> Any:
        async def opened(name: str, schema: Any, document_loader: Any) -> Any:
            if document_loader in counting:  # get_or_create_collection calls get_collection
                return await method(name, schema, document_loader)

            async def counted(document: Any) -> Any:
                calls[name] = calls.get(name, 0) + 1
                return await document_loader(document)

            counting.add(counted)
            return await method(name, schema, counted)

        return opened

    db.get_collection = wrap(db.get_collection)  # type: ignore[method-assign]
    db.get_or_create_collection = wrap(db.get_or_create_collection)  # type: ignore[method-assign]
    return calls


async def test_one_document_per_version_is_loaded_and_the_result_equals_the_full_pass(
    make_db: MakeDB, raw: Raw
) -> None:
    # A current (0.9.0) session as Parlant writes it, to copy.
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db, allow_migration=True) as store:
        made = await store.create_session(CustomerId("c"), agent_id=None)  # type: ignore[arg-type]
        template = raw.get("sessions", "sessions", made.id)
    assert template is not None and template["version"] == "0.9.0"

    def documents(current: int) -> list[dict[str, Any]]:
        stamp = "2024-06-01T00:00:00+00:00"
        made = [{**template, "id": f"now-{i:04d}", "creation_utc": stamp} for i in range(current)]
        made += [_session_v0_8_0(f"old-{i}", i) for i in range(3)]
        made += [{**template, "id": f"future-{i}", "version": "9.9.9"} for i in range(2)]
        made += [{key: value for key, value in template.items() if key != "version"} | {"id": "versionless"}]
        made += [{**template, "id": "numbered", "version": 1}]
        return made

    async def open_store(full_scan: bool) -> tuple[int, list[Any], list[str]]:
        async with make_db("parlant_sessions_", full_scan=full_scan, loader_page_size=50) as db:
            calls = counting_loaders(db)
            async with SessionDocumentStore(db, allow_migration=True):
                pass
        stored = sorted(raw.all("sessions", "sessions"), key=lambda document: str(document["id"]))
        failed = sorted(str(document["id"]) for document in raw.failed("sessions", "sessions"))
        return calls.get("sessions", 0), stored, failed

    for current in (300, 600):
        for name in ("sessions", "events"):
            raw.drop("sessions", name)
        raw.insert_many("sessions", "sessions", documents(current))
        versions = raw.client.get("/sessions/sessions:versions").json()["versions"]
        assert [entry["version"] for entry in versions] == ["0.8.0", "0.9.0", "1", "9.9.9", None]
        fast_calls, fast_stored, fast_failed = await open_store(full_scan=False)

        for name in ("sessions", "events"):
            raw.drop("sessions", name)
        raw.insert_many("sessions", "sessions", documents(current))
        full_calls, full_stored, full_failed = await open_store(full_scan=True)

        assert fast_stored == full_stored and fast_failed == full_failed
        assert fast_failed == ["future-0", "future-1", "numbered", "versionless"]
        assert {document["version"] for document in fast_stored} == {"0.9.0"}
        assert len(fast_stored) == current + 3
        # One call per version (0.8.0's sample changed, so its 3 documents follow; 9.9.9's was rejected,
        # so its 2 follow; "1" and the versionless one are read whole), whatever the number of documents.
        assert fast_calls == (1 + 3) + 1 + 1 + (1 + 2) + 1
        assert full_calls == current + 3 + 2 + 1 + 1
