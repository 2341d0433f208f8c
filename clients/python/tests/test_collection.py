"""The ``DocumentCollection`` operations themselves, as Parlant's adapters define their results."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypedDict

import pytest
from parlant.core.persistence.common import Cursor, ObjectId, SortDirection
from parlant.core.persistence.document_database import CollectionIndex, identity_loader

from parlant_docstore import (
    DuplicateIdError,
    InvalidCollectionError,
    InvalidDocumentError,
    InvalidFilterError,
    SupabaseDocumentDatabase,
    UniqueViolationError,
    cursor_to_token,
    token_to_cursor,
)

from .conftest import Raw

MakeDB = Callable[..., SupabaseDocumentDatabase]


class Thing(TypedDict, total=False):
    id: ObjectId
    creation_utc: str
    version: str
    n: int
    kind: str


def thing(i: int, **overrides: Any) -> Thing:
    document = Thing(
        id=ObjectId(f"t{i:04d}"),
        creation_utc=f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00",
        version="1",
        n=i,
        kind="even" if i % 2 == 0 else "odd",
    )
    document.update(overrides)  # type: ignore[typeddict-item]
    return document


async def test_insert_find_update_delete(sessions_db: SupabaseDocumentDatabase) -> None:
    things = await sessions_db.get_or_create_collection("things", Thing, identity_loader)  # type: ignore[arg-type]
    for i in range(6):
        assert (await things.insert_one(thing(i))).acknowledged
    with pytest.raises(DuplicateIdError) as duplicate:
        await things.insert_one(thing(3))
    assert (duplicate.value.status, duplicate.value.code) == (409, "duplicate_id")

    odd = await things.find({"kind": {"$eq": "odd"}})
    assert [d["n"] for d in odd] == [1, 3, 5] and odd.total_count == 3 and not odd.has_more
    assert [d["n"] for d in await things.find({"$or": [{"n": {"$lt": 1}}, {"n": {"$in": [4, 5]}}]})] == [
        0,
        4,
        5,
    ]
    assert [d["n"] for d in await things.find({}, sort_direction=SortDirection.DESC)][:2] == [5, 4]

    # find_one sorts on any field, numbers numerically.
    assert (await things.find_one({"kind": {"$eq": "even"}}, sort=[("n", SortDirection.DESC)]))["n"] == 4  # type: ignore[index]
    assert await things.find_one({"n": {"$gt": 100}}) is None

    # update_one merges and returns the updated document; no match and no upsert: nothing.
    updated = await things.update_one({"n": {"$eq": 2}}, {"kind": "two"})  # type: ignore[typeddict-item]
    assert (updated.matched_count, updated.modified_count) == (1, 1)
    assert updated.updated_document == {**thing(2), "kind": "two"}
    missing = await things.update_one({"n": {"$eq": 99}}, {"kind": "x"})  # type: ignore[typeddict-item]
    assert (missing.matched_count, missing.modified_count, missing.updated_document) == (0, 0, None)
    # Upsert inserts the filter's equalities plus params; counts 0 as Parlant's adapters report.
    upserted = await things.update_one({"id": {"$eq": "fresh"}}, {"n": 99, "kind": "new"}, upsert=True)  # type: ignore[typeddict-item]
    assert (upserted.matched_count, upserted.modified_count) == (0, 0)
    assert upserted.updated_document is not None and upserted.updated_document["id"] == "fresh"
    again = await things.update_one({"id": {"$eq": "fresh"}}, {"n": 100}, upsert=True)  # type: ignore[typeddict-item]
    assert (again.matched_count, again.updated_document["n"]) == (1, 100)  # type: ignore[index]

    deleted = await things.delete_one({"n": {"$gte": 4}})
    assert deleted.deleted_count == 1 and deleted.deleted_document == thing(4)
    nothing = await things.delete_one({"n": {"$eq": 4}})
    assert (nothing.deleted_count, nothing.deleted_document) == (0, None)

    with pytest.raises(InvalidFilterError) as invalid:
        await things.find({"n": {"$regex": "x"}})  # type: ignore[dict-item]
    assert invalid.value.status == 400 and "$regex" in invalid.value.message
    with pytest.raises(InvalidDocumentError):
        await things.insert_one(thing(50, n=float("nan")))


async def test_pages_beyond_the_service_limit_and_cursor_tokens(
    sessions_db: SupabaseDocumentDatabase, raw: Raw
) -> None:
    raw.insert("sessions", "things", [dict(thing(i)) for i in range(1100)])
    things = await sessions_db.get_collection("things", Thing, identity_loader)  # type: ignore[arg-type]
    big = await things.find({}, limit=1050)
    assert [d["n"] for d in big] == list(range(1050))
    assert big.has_more and big.total_count == 1100
    assert big.next_cursor == Cursor(creation_utc=thing(1049)["creation_utc"], id=ObjectId("t1049"))
    rest = await things.find({}, limit=1050, cursor=big.next_cursor)
    assert [d["n"] for d in rest] == list(range(1050, 1100)) and not rest.has_more

    # Parlant's cursor and the service's token convert both ways, without state.
    token = cursor_to_token(big.next_cursor)
    assert token_to_cursor(token) == big.next_cursor
    response = raw.client.get("/sessions/things", params={"limit": "99", "where": '{"n":{"$lt":100}}'})
    assert token_to_cursor(response.json()["next_cursor"]) == Cursor(
        thing(98)["creation_utc"], ObjectId("t0098")
    )

    down = await things.find({"kind": {"$eq": "odd"}}, limit=3, sort_direction=SortDirection.DESC)
    assert [d["n"] for d in down] == [1099, 1097, 1095] and down.total_count == 550
    below = await things.find(
        {"kind": {"$eq": "odd"}}, limit=2, cursor=down.next_cursor, sort_direction=SortDirection.DESC
    )
    assert [d["n"] for d in below] == [1093, 1091]


async def test_ensure_indexes_and_collections(make_db: MakeDB, raw: Raw) -> None:
    async with make_db("parlant_sessions_", exact_total_count=False) as db:
        things = await db.create_collection("things", Thing)
        await things.ensure_indexes(
            [
                CollectionIndex(fields=(("kind", SortDirection.ASC), ("n", SortDirection.DESC))),
                CollectionIndex(fields=(("n", SortDirection.ASC),), unique=True),
            ]
        )
        await things.ensure_indexes([CollectionIndex(fields=(("n", SortDirection.ASC),), unique=True)])
        await things.insert_one(thing(1))
        with pytest.raises(UniqueViolationError):
            await things.insert_one(thing(2, n=1))
        await things.insert_one(thing(2))
        page = await things.find({}, limit=1)
        assert page.total_count == 1 and page.has_more  # the page's size when not counting

        await db.delete_collection("things")
        assert raw.all("sessions", "things") == []
        with pytest.raises(InvalidCollectionError):
            await db.get_collection("Bad-Name", Thing, identity_loader)  # type: ignore[arg-type]

        # A collection that does not exist reads as empty.
        empty = await db.get_collection("things", Thing, identity_loader)  # type: ignore[arg-type]
        assert (await empty.find({})).items == [] and await empty.find_one({}) is None


async def test_awkward_ids_round_trip(sessions_db: SupabaseDocumentDatabase, raw: Raw) -> None:
    ids = ["a/b", "sp ace", "ünï 👋", "q?x#y&z=1", "%41", ".", "..", "x.y"]
    things = await sessions_db.get_or_create_collection("things", Thing, identity_loader)  # type: ignore[arg-type]
    for id in ids:
        await things.insert_one(thing(0, id=id))
        await things.replace({"id": id, "n": 1})  # type: ignore[typeddict-unknown-key]
    assert sorted(d["id"] for d in await things.find({"n": {"$eq": 1}})) == sorted(ids)

    async def reject_odd_ones(document: Any) -> Any:
        return None if document["id"] in ("a/b", ".", "%41") else document

    async with SupabaseDocumentDatabase(
        sessions_db._logger, url=sessions_db.url, key=sessions_db._http._key, store="sessions"
    ) as again:
        reloaded = await again.get_collection("things", Thing, reject_odd_ones)  # type: ignore[arg-type]
        assert sorted(d["id"] for d in await reloaded.failed_migrations()) == ["%41", ".", "a/b"]
        assert len((await reloaded.find({})).items) == len(ids) - 3


async def test_numbers_and_keys_come_back_as_jsonb_keeps_them(
    sessions_db: SupabaseDocumentDatabase,
) -> None:
    """PostgreSQL's jsonb keeps values, not spelling: what the README's "Numbers and keys" says."""
    things = await sessions_db.get_or_create_collection("things", Thing, identity_loader)  # type: ignore[arg-type]
    sent: dict[str, Any] = {**thing(1), "big": 1e20, "plain": 1500.0, "neg": -0.0, "tenth": 0.1}
    sent.update(z=1, a=2)
    await things.insert_one(sent)  # type: ignore[arg-type]
    [read] = list(await things.find({"id": {"$eq": "t0001"}}))
    back: dict[str, Any] = dict(read)
    assert back["big"] == 10**20 and type(back["big"]) is int, "an exponent comes back written out, as an int"
    assert back["plain"] == 1500.0 and type(back["plain"]) is float, "without an exponent it stays a float"
    assert back["neg"] == 0.0 and math.copysign(1.0, back["neg"]) == 1.0, "-0.0 comes back as 0.0"
    assert back["tenth"] == 0.1 and type(back["tenth"]) is float
    assert {key: back[key] for key in sent} == sent, "equal by value"
    assert list(back) == sorted(back, key=lambda key: (len(key.encode()), key.encode())), "jsonb's key order"
