"""Parlant's own document stores, from the PyPI package, doing their normal work on the service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from parlant.core.agents import AgentId
from parlant.core.common import IdGenerator, ItemNotFoundError
from parlant.core.context_variables import ContextVariableDocumentStore
from parlant.core.customers import CustomerDocumentStore, CustomerId
from parlant.core.persistence.common import Cursor, ObjectId, SortDirection
from parlant.core.sessions import EventKind, EventSource, SessionDocumentStore
from parlant.core.tags import TagId

from parlant_docstore import SupabaseDocumentDatabase

from .conftest import Raw, Recorder

MakeDB = Callable[..., SupabaseDocumentDatabase]
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


async def test_sessions_with_events(make_db: MakeDB, raw: Raw) -> None:
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db, allow_migration=True) as store:
        created = [
            await store.create_session(
                customer_id=CustomerId("alice" if i % 2 == 0 else "bob"),
                agent_id=AgentId("agent-1"),
                creation_utc=T0 + timedelta(seconds=i),
                title=f"session {i}",
            )
            for i in range(5)
        ]

        # Filters on customer_id, pages through Parlant's Cursor, both directions.
        alice = await store.list_sessions(customer_id=CustomerId("alice"))
        assert [s.id for s in alice.items] == [created[0].id, created[2].id, created[4].id]
        assert alice.total_count == 3 and not alice.has_more

        seen: list[str] = []
        cursor = None
        while True:
            page = await store.list_sessions(agent_id=AgentId("agent-1"), limit=2, cursor=cursor)
            assert page.total_count == 5
            seen += [s.id for s in page.items]
            if not page.has_more:
                assert page.next_cursor is None
                break
            assert isinstance(page.next_cursor, Cursor)
            cursor = page.next_cursor
        assert seen == [s.id for s in created]

        newest = await store.list_sessions(limit=2, sort_direction=SortDirection.DESC)
        assert [s.id for s in newest.items] == [created[4].id, created[3].id]
        older = await store.list_sessions(
            limit=10, cursor=newest.next_cursor, sort_direction=SortDirection.DESC
        )
        assert [s.id for s in older.items] == [created[2].id, created[1].id, created[0].id]

        # Updates are merges: the other fields stay.
        session = created[0]
        updated = await store.update_session(session.id, {"title": "renamed", "mode": "manual"})
        assert (updated.title, updated.mode, updated.customer_id) == ("renamed", "manual", "alice")
        await store.set_metadata(session.id, "plan", {"tier": "gold", "seats": 3})
        await store.set_metadata(session.id, "temp", True)
        after = await store.unset_metadata(session.id, "temp")
        assert after.metadata == {"plan": {"tier": "gold", "seats": 3}}
        await store.upsert_labels(session.id, {"vip", "eu"})
        labelled = await store.remove_labels(session.id, {"eu"})
        assert labelled.labels == {"vip"}
        assert (await store.read_session(session.id)).labels == {"vip"}

        # Events: offsets come from find_one sorted on offset, descending.
        events = [
            await store.create_event(
                session_id=session.id,
                source=EventSource.CUSTOMER if i % 2 == 0 else EventSource.AI_AGENT,
                kind=EventKind.MESSAGE if i < 3 else EventKind.STATUS,
                trace_id=f"trace-{i}",
                data={"message": f"héllo {i} 👋", "participant": {"display_name": "Alice"}},
            )
            for i in range(4)
        ]
        assert [e.offset for e in events] == [0, 1, 2, 3]

        listed = await store.list_events(session.id)
        assert [e.id for e in listed] == [e.id for e in events]
        assert listed[0].data == {"message": "héllo 0 👋", "participant": {"display_name": "Alice"}}
        messages = await store.list_events(session.id, kinds=[EventKind.MESSAGE])
        assert [e.offset for e in messages] == [0, 1, 2]
        from_customer = await store.list_events(session.id, source=EventSource.CUSTOMER, min_offset=1)
        assert [e.offset for e in from_customer] == [2]
        assert [e.offset for e in await store.list_events(session.id, trace_id="trace-3")] == [3]

        changed = await store.update_event(session.id, events[1].id, {"metadata": {"edited": True}})
        assert changed.metadata == {"edited": True} and changed.data == events[1].data
        await store.delete_event(events[2].id)
        assert [e.offset for e in await store.list_events(session.id)] == [0, 1, 3]
        deleted_too = await store.list_events(session.id, exclude_deleted=False)
        assert [e.deleted for e in deleted_too] == [False, False, True, False]
        assert (await store.read_event(session.id, events[3].id)).kind == EventKind.STATUS
        with pytest.raises(ItemNotFoundError):
            await store.delete_event(events[0].id + "-missing")

        # Deleting a session deletes its events.
        await store.delete_session(session.id)
        with pytest.raises(ItemNotFoundError):
            await store.read_session(session.id)
        assert [d for d in raw.all("sessions", "events") if d["session_id"] == session.id] == []
        assert len(raw.all("sessions", "sessions")) == 4

    # The service's columns hold the top-level fields (the seed's manual SQL works on them).
    stored = raw.get("sessions", "sessions", created[1].id)
    assert stored is not None and stored["customer_id"] == "bob" and stored["version"] == "0.9.0"


async def test_customers_with_tags(make_db: MakeDB, id_generator: IdGenerator) -> None:
    async with (
        make_db("parlant_customers_") as db,
        CustomerDocumentStore(id_generator=id_generator, database=db, allow_migration=True) as store,
    ):
        gold, silver = TagId("tag-gold"), TagId("tag-silver")
        ann = await store.create_customer("Ann", extra={"email": "ann@example.com"}, tags=[gold])
        ben = await store.create_customer("Ben", tags=[silver], creation_utc=T0)
        cid = await store.create_customer("Cid", id=CustomerId("cid-1"))
        assert cid.id == "cid-1"

        assert (await store.read_customer(ann.id)).tags == [gold]
        assert [c.id for c in (await store.list_customers(tags=[gold])).items] == [ann.id]

        await store.upsert_tag(ben.id, gold)
        assert not await store.upsert_tag(ben.id, gold)  # already there
        assert {c.id for c in (await store.list_customers(tags=[gold])).items} == {ann.id, ben.id}
        await store.remove_tag(ben.id, silver)
        assert (await store.read_customer(ben.id)).tags == [gold]

        await store.upsert_extra(ann.id, {"plan": "pro"})
        assert (await store.read_customer(ann.id)).extra == {"email": "ann@example.com", "plan": "pro"}
        assert (await store.remove_extra(ann.id, ["email"])).extra == {"plan": "pro"}
        assert (await store.update_customer(cid.id, {"name": "Cid the Second"})).name == "Cid the Second"

        everyone = await store.list_customers()
        # The guest customer Parlant creates on first read counts too.
        assert {ann.id, ben.id, cid.id} <= {c.id for c in everyone.items}
        # limit=2: the guest first, then one page of 1 from the collection.
        first = await store.list_customers(limit=2)
        assert first.has_more and first.next_cursor is not None and len(first.items) == 2
        rest = await store.list_customers(limit=100, cursor=first.next_cursor)
        assert [c.id for c in first.items] + [c.id for c in rest.items] == [c.id for c in everyone.items]

        await store.delete_customer(ben.id)
        with pytest.raises(ItemNotFoundError):
            await store.read_customer(ben.id)
        assert [c.id for c in (await store.list_customers(tags=[gold])).items] == [ann.id]


async def test_list_customers_by_tag_with_thousands_of_tagged_customers(
    make_db: MakeDB, id_generator: IdGenerator, raw: Raw
) -> None:
    """list_customers(tags=[t]) sends an $or of one $eq per tagged customer, and tags=[] an $and of one
    $ne each: with 2,500 tagged customers, filters far beyond 1,000 clauses."""
    tag = TagId("tag-many")
    recorder = Recorder()
    async with (
        make_db("parlant_customers_", transport=recorder) as db,
        CustomerDocumentStore(id_generator=id_generator, database=db, allow_migration=True) as store,
    ):
        # One customer of each kind made by Parlant, then copies of their documents, for speed.
        tagged = await store.create_customer("Tagged", tags=[tag], creation_utc=T0)
        untagged = await store.create_customer("Untagged", creation_utc=T0)
        customer_doc = raw.get("customers", "customers", tagged.id)
        association_doc = raw.all("customers", "customer_tag_associations")[0]
        tagged_ids = [tagged.id] + [CustomerId(f"tagged-{i:04d}") for i in range(1, 2500)]
        untagged_ids = [untagged.id] + [CustomerId(f"untagged-{i:03d}") for i in range(1, 100)]
        raw.insert_many(
            "customers",
            "customers",
            [{**customer_doc, "id": id, "name": f"copy {id}"} for id in tagged_ids[1:] + untagged_ids[1:]],
        )
        raw.insert_many(
            "customers",
            "customer_tag_associations",
            [{**association_doc, "id": f"assoc-{id}", "customer_id": id} for id in tagged_ids[1:]],
        )

        recorder.requests.clear()
        with_tag = await store.list_customers(tags=[tag])
        assert sorted(c.id for c in with_tag.items) == sorted(tagged_ids)
        assert all(tag in c.tags for c in with_tag.items[:5])
        without_tags = await store.list_customers(tags=[])
        assert set(untagged_ids) <= {c.id for c in without_tags.items}
        assert not {c.id for c in without_tags.items} & set(tagged_ids)
        # Each listing is one read of the associations and one :find with the long filter in its body.
        finds = [path for method, path in recorder.requests if method == "POST" and path.endswith(":find")]
        assert finds.count("/customers/customers:find") == 2, recorder.requests[:10]


async def test_context_variables_with_values(make_db: MakeDB, id_generator: IdGenerator) -> None:
    async with (
        make_db("parlant_context_variables_") as db,
        ContextVariableDocumentStore(id_generator=id_generator, database=db, allow_migration=True) as store,
    ):
        tag = TagId("agent-tag")
        plan = await store.create_variable("plan", description="The customer's plan", tags=[tag])
        other = await store.create_variable("locale", freshness_rules="0 * * * *")

        first = await store.update_value(plan.id, "alice", {"tier": "gold", "renews": "2026-01-01"})
        assert (await store.read_value(plan.id, "alice")) == first
        # update_value upserts: the second call for the same key updates the same document.
        second = await store.update_value(plan.id, "alice", {"tier": "platinum"})
        await store.update_value(plan.id, "bob", 42)
        assert (await store.read_value(plan.id, "alice")) == second
        assert sorted(k for k, _ in await store.list_values(plan.id)) == ["alice", "bob"]
        assert {k: v.data for k, v in await store.list_values(plan.id)} == {
            "alice": {"tier": "platinum"},
            "bob": 42,
        }

        await store.delete_value(plan.id, "bob")
        assert await store.read_value(plan.id, "bob") is None

        assert [v.id for v in await store.list_variables(tags=[tag])] == [plan.id]
        await store.add_variable_tag(other.id, tag)
        assert {v.id for v in await store.list_variables(tags=[tag])} == {plan.id, other.id}
        await store.remove_variable_tag(other.id, tag)
        assert (await store.read_variable(other.id)).tags == []

        renamed = await store.update_variable(plan.id, {"name": "subscription", "description": None})
        assert (renamed.name, renamed.description, renamed.tags) == ("subscription", None, [tag])

        await store.delete_variable(other.id)
        assert [v.id for v in await store.list_variables()] == [plan.id]
        with pytest.raises(ItemNotFoundError):
            await store.read_variable(other.id)


async def test_data_is_still_there_through_a_new_client_instance(
    make_db: MakeDB, id_generator: IdGenerator
) -> None:
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db) as sessions:
        session = await sessions.create_session(CustomerId("carol"), AgentId("agent-9"), title="kept")
        event = await sessions.create_event(
            session.id, EventSource.CUSTOMER, EventKind.MESSAGE, "t", {"message": "still here?"}
        )
    async with make_db("parlant_customers_") as db, CustomerDocumentStore(id_generator, db) as customers:
        customer = await customers.create_customer("Carol", extra={"k": "v"}, tags=[TagId("t1")])
    async with (
        make_db("parlant_context_variables_") as db,
        ContextVariableDocumentStore(id_generator, db) as variables,
    ):
        variable = await variables.create_variable("mood")
        await variables.update_value(variable.id, "carol", "cheerful")

    # New instances: new connection pools, nothing cached.
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db) as sessions:
        assert (await sessions.read_session(session.id)).title == "kept"
        assert [e.data for e in await sessions.list_events(session.id)] == [{"message": "still here?"}]
        assert (await sessions.read_event(session.id, event.id)).offset == 0
    async with make_db("parlant_customers_") as db, CustomerDocumentStore(id_generator, db) as customers:
        again = await customers.read_customer(customer.id)
        assert (again.name, again.extra, again.tags) == ("Carol", {"k": "v"}, [TagId("t1")])
    async with (
        make_db("parlant_context_variables_") as db,
        ContextVariableDocumentStore(id_generator, db) as variables,
    ):
        value = await variables.read_value(variable.id, "carol")
        assert value is not None and value.data == "cheerful"


async def test_a_cursor_outlives_the_client_that_made_it(make_db: MakeDB) -> None:
    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db) as store:
        ids = [
            (
                await store.create_session(
                    CustomerId("dan"), AgentId("a"), creation_utc=T0 + timedelta(minutes=i)
                )
            ).id
            for i in range(4)
        ]
        page = await store.list_sessions(limit=2)
        assert page.next_cursor is not None
        # What another process would hold: the plain values, not an object from this client.
        saved: dict[str, Any] = {
            "creation_utc": page.next_cursor.creation_utc,
            "id": str(page.next_cursor.id),
        }

    async with make_db("parlant_sessions_") as db, SessionDocumentStore(db) as store:
        cursor = Cursor(creation_utc=saved["creation_utc"], id=ObjectId(saved["id"]))
        rest = await store.list_sessions(limit=10, cursor=cursor)
        assert [s.id for s in rest.items] == ids[2:]
        assert not rest.has_more and rest.next_cursor is None
