"""Parlant's ``DocumentDatabase`` / ``DocumentCollection`` over the document service's HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx
from parlant.core.loggers import Logger
from parlant.core.persistence.common import Cursor, SortDirection, Where, ensure_is_total
from parlant.core.persistence.document_database import (
    BaseDocument,
    CollectionIndex,
    CollectionSort,
    DeleteResult,
    DocumentCollection,
    DocumentDatabase,
    FindResult,
    InsertResult,
    TDocument,
    UpdateResult,
)
from typing_extensions import Self, override

from ._http import HTTPClient, RetryPolicy
from .cursor import cursor_to_token, token_to_cursor
from .errors import ConfigurationError, InvalidCollectionError, InvalidRequestError, NotFoundError

URL_VARIABLE = "DOCSTORE_URL"
KEY_VARIABLE = "DOCSTORE_KEY"

STORES = ("sessions", "customers", "variables")

#: The largest page the service serves (``limit`` 1..1000); larger limits are fetched in pages.
MAX_PAGE = 1000

_COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_STORE_ALIASES = {
    "sessions": "sessions",
    "session": "sessions",
    "customers": "customers",
    "customer": "customers",
    "variables": "variables",
    "variable": "variables",
    "context_variables": "variables",
    "context_variable": "variables",
}


def store_for_prefix(table_prefix: str | None, store: str | None = None) -> str:
    """The service store (``sessions``, ``customers`` or ``variables``) a database instance uses.

    An explicit ``store`` wins. Otherwise the table prefix decides, case-insensitively: one that
    contains ``session`` is the sessions store, ``customer`` the customers store, ``variable`` or
    ``context`` the context-variables store. A prefix that names none, or more than one, is an error
    asking for ``store=``.
    """
    if store is not None:
        resolved = _STORE_ALIASES.get(store.strip().lower())
        if resolved is None:
            raise ConfigurationError(f"store must be one of {', '.join(STORES)}, not {store!r}.")
        return resolved
    prefix = (table_prefix or "").lower()
    matches = []
    if "session" in prefix:
        matches.append("sessions")
    if "customer" in prefix:
        matches.append("customers")
    if "variable" in prefix or "context" in prefix:
        matches.append("variables")
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigurationError(
            f"Cannot tell the store from table_prefix={table_prefix!r}: it should contain 'session', "
            "'customer' or 'variable' (e.g. 'parlant_sessions_'), or pass store='sessions', "
            "'customers' or 'variables'."
        )
    raise ConfigurationError(
        f"table_prefix={table_prefix!r} could name the stores {' and '.join(matches)}; "
        "pass store= to say which."
    )


def _canonical(document: Any) -> str:
    """A canonical JSON text, to tell whether a loader changed a document."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)


def id_segment(document_id: str) -> str:
    """The path segment of a document id: percent-encoded, with ``.`` and ``..`` escaped too so that
    no URL normalisation turns them into a relative path."""
    segment = quote(document_id, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _sort_pairs(sort: CollectionSort) -> list[list[str]]:
    return [[field, "desc" if direction == SortDirection.DESC else "asc"] for field, direction in sort]


@dataclass
class _LoadProgress:
    """What one loader pass over a collection did, across its versions."""

    migrated: int = 0
    quarantined: int = 0
    rewritten: set[str] = field(default_factory=set)


_NOT_JSON = object()
_NOT_SCALAR = object()


def _json_scalar(text: str) -> Any:
    """The number, boolean or null whose JSON text is ``text`` (the service lists a non-string
    version as its JSON text); ``_NOT_JSON`` for an ordinary string, ``_NOT_SCALAR`` for an object
    or array."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        value = json.loads(text, parse_constant=refuse)
    except ValueError:
        return _NOT_JSON
    if isinstance(value, (dict, list)):
        return _NOT_SCALAR
    # A string version whose text is "null" (a JSON null version has no column value at all).
    return _NOT_JSON if value is None or isinstance(value, str) else value


@dataclass(frozen=True)
class _Page:
    items: list[Any]
    total_count: int
    has_more: bool
    next_cursor: str | None


class SupabaseDocumentDatabase(DocumentDatabase):
    """A Parlant ``DocumentDatabase`` whose collections live in the document service.

    A drop-in for ``parlant.adapters.db.supabase_db.SupabaseDocumentDatabase``: same
    ``logger``, ``connection_params`` and ``table_prefix`` arguments, plus where the service is.

    Args:
        logger: Parlant's logger (``container[p.Logger]``).
        connection_params: optional mapping with ``url`` and ``key`` (as the seed adapter takes).
        table_prefix: selects the store (see :func:`store_for_prefix`); the tables' real prefix is
            configured in the service (``SESSIONS_TABLE_PREFIX``, ...).
        url: the service's base URL; default ``connection_params["url"]``, then ``$DOCSTORE_URL``.
        key: the service key; default ``connection_params["key"]``, then ``$DOCSTORE_KEY``.
        store: ``"sessions"``, ``"customers"`` or ``"variables"``, overriding ``table_prefix``.
        timeout: seconds for each HTTP request.
        max_retries: retries of a request that is safe to repeat (reads, ``PUT``, index creation,
            quarantine) after a 502/503/504 or a broken connection, with exponential backoff that
            honours ``Retry-After``. Inserts, ``update_one`` and ``delete_one`` are retried only
            when the connection could not be made at all (the request was never sent).
        max_connections: size of this instance's connection pool.
        exact_total_count: when ``find`` has a ``limit``, ask the service to count every match
            (``count=exact``) for ``FindResult.total_count``; ``False`` reports the page's size and
            saves a ``COUNT`` query per page.
        loader_page_size: documents read per request when ``get_collection`` runs the loader.
        full_scan: run the document loader over every stored document when a collection is opened,
            as Parlant's own adapters do. By default it runs on one document per version (the
            service's ``:versions``) and, when the loader returns that document unchanged, leaves the
            other documents of that version alone: this holds because each of Parlant's loaders
            decides by the document's ``version`` alone (a document at the store's version comes
            back unchanged, older ones are converted, unknown ones rejected). Set it for a loader
            that looks at more than ``version``.
        transport: an ``httpx`` transport, for tests.

    Use it as an async context manager: entering opens the connection pool and checks the URL and
    key with one read; leaving closes the pool.
    """

    def __init__(
        self,
        logger: Logger,
        connection_params: Mapping[str, Any] | None = None,
        *,
        table_prefix: str | None = None,
        url: str | None = None,
        key: str | None = None,
        store: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_connections: int = 10,
        exact_total_count: bool = True,
        loader_page_size: int = 500,
        full_scan: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        params = dict(connection_params or {})
        resolved_url = url or params.get("url") or os.environ.get(URL_VARIABLE)
        resolved_key = key or params.get("key") or os.environ.get(KEY_VARIABLE)
        missing = [
            name for name, value in ((URL_VARIABLE, resolved_url), (KEY_VARIABLE, resolved_key)) if not value
        ]
        if missing:
            raise ConfigurationError(
                "The document service is not configured: set "
                + " and ".join(missing)
                + " (or pass url= and key=)."
            )
        assert resolved_url and resolved_key
        parsed = httpx.URL(str(resolved_url))
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(
                f"{URL_VARIABLE} must be an http(s) URL such as http://127.0.0.1:8080, not {resolved_url!r}."
            )
        if not 1 <= loader_page_size <= MAX_PAGE:
            raise ConfigurationError(f"loader_page_size must be 1 to {MAX_PAGE}.")

        self._logger = logger
        self.table_prefix = table_prefix
        self.store = store_for_prefix(table_prefix, store)
        self.url = str(resolved_url).rstrip("/")
        self.exact_total_count = exact_total_count
        self.loader_page_size = loader_page_size
        self.full_scan = full_scan
        self._http = HTTPClient(
            self.url,
            str(resolved_key),
            timeout=timeout,
            retry=RetryPolicy(max_retries=max_retries),
            max_connections=max_connections,
            transport=transport,
        )
        self._collections: dict[str, SupabaseDocumentCollection[Any]] = {}
        self._load_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._http.open()
        try:
            # One authenticated read that creates nothing: fails fast on a wrong URL or key.
            await self._http.request("GET", f"/{self.store}/metadata", params={"limit": "1"}, idempotent=True)
        except BaseException:
            await self._http.close()
            raise
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
        """Closes the connection pool (also done when leaving ``async with``)."""
        await self._http.close()

    # -- DocumentDatabase ----------------------------------------------------------------------

    @override
    async def create_collection(
        self,
        name: str,
        schema: type[TDocument],
    ) -> SupabaseDocumentCollection[TDocument]:
        """Creates the collection's tables now (``PUT /{store}/{name}``), if they do not exist."""
        await self._create_tables(name)
        collection = SupabaseDocumentCollection[TDocument](self, name, schema)
        collection._loaded = True  # a new collection has nothing to load
        self._collections[name] = collection
        return collection

    @override
    async def get_collection(
        self,
        name: str,
        schema: type[TDocument],
        document_loader: Callable[[BaseDocument], Awaitable[TDocument | None]],
    ) -> SupabaseDocumentCollection[TDocument]:
        """The collection, after running ``document_loader`` over its stored documents.

        As in Parlant's Supabase adapter (once per instance and collection): a document the loader
        changes (a migration) is rewritten whole with ``PUT``; one it rejects (returns ``None``) or
        fails on (raises) is moved to the collection's failed-migrations table with
        ``:quarantine`` and so leaves the collection. Unless ``full_scan``, the loader first runs on
        one document of each version, and a version whose document it returns unchanged is not read
        further (see the class's ``full_scan``). A collection that does not exist yet is empty;
        reading it creates nothing.
        """
        async with self._load_lock:
            collection = self._collections.get(name)
            if collection is None:
                collection = SupabaseDocumentCollection[TDocument](self, name, schema)
                self._collections[name] = collection
            if not collection._loaded:
                await collection._load_documents(document_loader)
                collection._loaded = True
            return cast(SupabaseDocumentCollection[TDocument], collection)

    @override
    async def get_or_create_collection(
        self,
        name: str,
        schema: type[TDocument],
        document_loader: Callable[[BaseDocument], Awaitable[TDocument | None]],
    ) -> SupabaseDocumentCollection[TDocument]:
        """Creates the tables if they are missing, then as :meth:`get_collection`."""
        if name not in self._collections:
            await self._create_tables(name)
        return await self.get_collection(name, schema, document_loader)

    @override
    async def delete_collection(self, name: str) -> None:
        """Drops the collection and its failed-migrations table (``DELETE /{store}/{name}``)."""
        path = self._collection_path(name)
        await self._http.request("DELETE", path, idempotent=True)
        self._collections.pop(name, None)

    # -- helpers -----------------------------------------------------------------------------

    def _collection_path(self, name: str) -> str:
        if not _COLLECTION_NAME.match(name) or name.endswith("failed_migrations"):
            raise InvalidCollectionError(
                f"Collection name {name!r} is not allowed: use 1 to 63 characters of a-z, 0-9 and _, "
                "starting with a letter and not ending in failed_migrations.",
                code="invalid_collection",
            )
        return f"/{self.store}/{name}"

    async def _create_tables(self, name: str) -> None:
        path = self._collection_path(name)
        response = await self._http.request("PUT", path, idempotent=True)
        body = HTTPClient.json(response, "PUT", path)
        table = body.get("table") if isinstance(body, Mapping) else None
        if self.table_prefix and isinstance(table, str):
            expected = self.table_prefix.lower().rstrip("_")
            if not table.startswith(expected):
                self._logger.warning(
                    f"document service: collection {name!r} of store {self.store!r} is table {table!r}, "
                    f"not under table_prefix {self.table_prefix!r}; the tables' prefix is the "
                    f"service's {self.store.upper()}_TABLE_PREFIX setting"
                )


class SupabaseDocumentCollection(DocumentCollection[TDocument]):
    """One collection: ``/{store}/{name}`` in the service."""

    def __init__(
        self,
        database: SupabaseDocumentDatabase,
        name: str,
        schema: type[TDocument],
    ) -> None:
        self._database = database
        self._http = database._http
        self._logger = database._logger
        self._name = name
        self._schema = schema
        self._path = database._collection_path(name)
        self._loaded = False

    @property
    def name(self) -> str:
        return self._name

    # -- reads ---------------------------------------------------------------------------------

    async def _page(
        self,
        filters: Where,
        *,
        limit: int | None,
        cursor: str | None,
        descending: bool,
        count_all: bool,
    ) -> _Page:
        body: dict[str, Any] = {"where": filters or {}, "sort": "desc" if descending else "asc"}
        if limit is not None:
            body["limit"] = limit
        if cursor is not None:
            body["cursor"] = cursor
        if count_all:
            body["count"] = "exact"
        path = f"{self._path}:find"
        response = await self._http.request("POST", path, body=body, idempotent=True)
        data = HTTPClient.json(response, "POST", path)
        return _Page(
            items=list(data["items"]),
            total_count=int(data["total_count"]),
            has_more=bool(data["has_more"]),
            next_cursor=data.get("next_cursor"),
        )

    @override
    async def find(
        self,
        filters: Where,
        limit: int | None = None,
        cursor: Cursor | None = None,
        sort_direction: SortDirection | None = None,
    ) -> FindResult[TDocument]:
        """Documents matching ``filters`` in ``(creation_utc, id)`` order, as a keyset page.

        ``cursor`` (Parlant's ``Cursor``) becomes the service's token and ``next_cursor`` comes back
        as a ``Cursor``, with no state kept here. Without ``limit`` every match is returned. A limit
        above the service's 1,000 is served in several requests.
        """
        descending = sort_direction == SortDirection.DESC
        token = cursor_to_token(cursor) if cursor is not None else None
        if limit is None:
            everything = await self._page(
                filters, limit=None, cursor=token, descending=descending, count_all=False
            )
            return FindResult(
                items=cast(Sequence[TDocument], everything.items),
                total_count=len(everything.items),
                has_more=False,
            )
        if limit < 0:
            raise InvalidRequestError("find: limit must not be negative.", code="invalid_request")
        if limit == 0:
            # As Parlant's transient and JSON-file adapters: no items, has_more if anything matches.
            # (CustomerDocumentStore.list_customers(limit=1) asks for this.)
            probe = await self._page(
                filters,
                limit=1,
                cursor=token,
                descending=descending,
                count_all=self._database.exact_total_count,
            )
            return FindResult(
                items=[],
                total_count=probe.total_count if self._database.exact_total_count else 0,
                has_more=bool(probe.items),
            )

        items: list[Any] = []
        total: int | None = None
        remaining = limit
        while True:
            page = await self._page(
                filters,
                limit=min(remaining, MAX_PAGE),
                cursor=token,
                descending=descending,
                count_all=self._database.exact_total_count and total is None,
            )
            if total is None:
                total = page.total_count
            items.extend(page.items)
            remaining -= len(page.items)
            if not page.has_more or remaining <= 0 or page.next_cursor is None:
                break
            token = page.next_cursor
        has_more = page.has_more and page.next_cursor is not None
        return FindResult(
            items=cast(Sequence[TDocument], items),
            total_count=total if self._database.exact_total_count else len(items),
            has_more=has_more,
            next_cursor=token_to_cursor(page.next_cursor) if has_more and page.next_cursor else None,
        )

    @override
    async def find_one(
        self,
        filters: Where,
        sort: CollectionSort | None = None,
    ) -> TDocument | None:
        """The first match in ``sort`` order (then ``creation_utc``, ``id``), or ``None``."""
        body: dict[str, Any] = {"where": filters or {}}
        if sort:
            body["sort"] = _sort_pairs(sort)
        path = f"{self._path}:findOne"
        response = await self._http.request("POST", path, body=body, idempotent=True)
        document = HTTPClient.json(response, "POST", path).get("document")
        return cast(TDocument | None, document)

    # -- writes --------------------------------------------------------------------------------

    @override
    async def ensure_indexes(self, indexes: Sequence[CollectionIndex]) -> None:
        """Creates the indexes (``:ensureIndexes``, idempotent; also creates the tables)."""
        if not indexes:
            return
        body = {
            "indexes": [
                {"fields": _sort_pairs(index.fields), "unique": bool(index.unique)} for index in indexes
            ]
        }
        await self._http.request("POST", f"{self._path}:ensureIndexes", body=body, idempotent=True)

    @override
    async def insert_one(self, document: TDocument) -> InsertResult:
        """Inserts the document; :class:`DuplicateIdError` if its id is taken."""
        ensure_is_total(document, self._schema)
        await self._http.request("POST", self._path, body=document, idempotent=False)
        return InsertResult(acknowledged=True)

    @override
    async def update_one(
        self,
        filters: Where,
        params: TDocument,
        upsert: bool = False,
    ) -> UpdateResult[TDocument]:
        """Merges ``params`` into the first match (``{**existing, **params}``), atomically.

        With ``upsert`` and no match, inserts the filter's equalities plus ``params``; then
        ``matched_count`` and ``modified_count`` are 0 and ``updated_document`` is the new document,
        as in Parlant's adapters.
        """
        path = f"{self._path}:updateOne"
        response = await self._http.request(
            "POST",
            path,
            body={"where": filters or {}, "params": params, "upsert": bool(upsert)},
            idempotent=False,
        )
        data = HTTPClient.json(response, "POST", path)
        return UpdateResult(
            acknowledged=True,
            matched_count=int(data["matched_count"]),
            modified_count=int(data["modified_count"]),
            updated_document=cast(TDocument | None, data.get("updated_document")),
        )

    @override
    async def delete_one(self, filters: Where) -> DeleteResult[TDocument]:
        """Deletes the first match and returns it."""
        path = f"{self._path}:deleteOne"
        response = await self._http.request("POST", path, body={"where": filters or {}}, idempotent=False)
        data = HTTPClient.json(response, "POST", path)
        return DeleteResult(
            acknowledged=True,
            deleted_count=int(data["deleted_count"]),
            deleted_document=cast(TDocument | None, data.get("deleted_document")),
        )

    # -- extras beyond Parlant's interface ---------------------------------------------------

    async def replace(self, document: TDocument) -> None:
        """Creates or wholly replaces the document with its id (``PUT /{store}/{name}/{id}``)."""
        document_id = document.get("id")
        if not isinstance(document_id, str) or not document_id:
            raise InvalidRequestError("replace: the document needs a string id.", code="invalid_document")
        await self._http.request(
            "PUT", f"{self._path}/{id_segment(document_id)}", body=document, idempotent=True
        )

    async def failed_migrations(self) -> list[BaseDocument]:
        """The documents quarantined from this collection (``GET :failedMigrations``)."""
        path = f"{self._path}:failedMigrations"
        response = await self._http.request("GET", path, idempotent=True)
        return cast(list[BaseDocument], HTTPClient.json(response, "GET", path)["items"])

    # -- the loader ----------------------------------------------------------------------------

    async def _load_documents(
        self,
        document_loader: Callable[[BaseDocument], Awaitable[TDocument | None]],
    ) -> None:
        """Runs the loader over the stored documents: every one with ``full_scan``, else one per
        version and the rest of a version only when the loader changes or rejects that one."""
        progress = _LoadProgress()
        groups = None if self._database.full_scan else await self._version_groups()
        if groups is None:
            await self._load_matching({}, document_loader, progress)
        else:
            for filters, sampled in groups:
                if sampled and await self._sample_is_unchanged(filters, document_loader, progress):
                    continue
                await self._load_matching(filters, document_loader, progress)
        if progress.migrated or progress.quarantined:
            self._logger.info(
                f"document service: collection '{self._name}' of store '{self._database.store}': "
                f"{progress.migrated} document(s) migrated, {progress.quarantined} moved to failed migrations"
            )

    async def _version_groups(self) -> list[tuple[Where, bool]] | None:
        """The collection split by version, as ``(filter, sampled)`` pairs that cover every document:
        a string version alone (sampled); a version that is another type's JSON text (``1``,
        ``true``) as both (not sampled); documents without a version last (not sampled: a missing
        version and ``null`` may load differently). ``None`` when the service cannot say (it has no
        ``:versions``) or a version is an object or array: then every document is loaded."""
        path = f"{self._path}:versions"
        try:
            response = await self._http.request("GET", path, params={"count": "none"}, idempotent=True)
        except NotFoundError as error:
            if error.code != "not_found":
                raise
            self._logger.warning(
                f"document service: {path} is not served (an older service?); loading every document"
            )
            return None
        groups: list[tuple[Where, bool]] = []
        listed: list[Any] = []
        has_none = False
        for entry in HTTPClient.json(response, "GET", path)["versions"]:
            version = entry["version"]
            if version is None:
                has_none = True
                continue
            other = _json_scalar(version)
            if other is _NOT_SCALAR:
                return None
            values = [version] if other is _NOT_JSON else [version, other]
            listed += values
            groups.append((cast(Where, {"version": {"$in": values}}), other is _NOT_JSON))
        if has_none:
            groups.append((cast(Where, {"version": {"$nin": listed}}), False))
        return groups

    async def _sample_is_unchanged(
        self,
        filters: Where,
        document_loader: Callable[[BaseDocument], Awaitable[TDocument | None]],
        progress: _LoadProgress,
    ) -> bool:
        """Whether the loader returns the first document matching ``filters`` unchanged."""
        page = await self._page(filters, limit=1, cursor=None, descending=False, count_all=False)
        if not page.items:
            return True
        sample = page.items[0]
        before = _canonical(sample)
        try:
            loaded = await document_loader(cast(BaseDocument, json.loads(before)))
        except Exception:  # noqa: BLE001 - the pass over the version reports it
            return False
        return loaded is not None and _canonical(loaded) == before

    async def _load_matching(
        self,
        filters: Where,
        document_loader: Callable[[BaseDocument], Awaitable[TDocument | None]],
        progress: _LoadProgress,
    ) -> None:
        """Runs the loader over every document matching ``filters``, page by page (keyset, so
        rewrites and quarantines between pages neither skip nor repeat a document)."""
        token: str | None = None
        while True:
            page = await self._page(
                filters, limit=self._database.loader_page_size, cursor=token, descending=False, count_all=False
            )
            rejected: dict[str, list[str]] = {}
            for document in page.items:
                document_id = document.get("id")
                if document_id in progress.rewritten:
                    continue  # a migration moved it past the cursor; it is already loaded
                before = _canonical(document)
                try:
                    loaded = await document_loader(cast(BaseDocument, document))
                except Exception as error:  # noqa: BLE001 - any loader failure quarantines, as in Parlant
                    self._logger.error(
                        f"Failed to load document '{document_id}' in collection '{self._name}' with "
                        f"error: {type(error).__name__}: {error}. Moving it to the failed-migrations table."
                    )
                    reason = f"the document loader raised {type(error).__name__}: {error}"
                else:
                    if loaded is None:
                        self._logger.warning(
                            f"Failed to load document '{document_id}' in collection '{self._name}' "
                            f"(version {document.get('version')!r}). Moving it to the failed-migrations table."
                        )
                        reason = f"the document loader returned nothing (version {document.get('version')!r})"
                    else:
                        if _canonical(loaded) != before:
                            await self._rewrite(str(document_id), cast(Mapping[str, Any], loaded))
                            progress.rewritten.add(str(loaded.get("id", document_id)))
                            progress.migrated += 1
                        continue
                rejected.setdefault(reason[:1000], []).append(str(document_id))
            for reason, ids in rejected.items():
                await self._http.request(
                    "POST", f"{self._path}:quarantine", body={"ids": ids, "reason": reason}, idempotent=True
                )
                progress.quarantined += len(ids)
            if not page.has_more or page.next_cursor is None:
                break
            token = page.next_cursor

    async def _rewrite(self, original_id: str, loaded: Mapping[str, Any]) -> None:
        """Whole-document replace of a migrated document (under its new id if the loader changed it)."""
        new_id = loaded.get("id", original_id)
        await self._http.request(
            "PUT", f"{self._path}/{id_segment(str(new_id))}", body=loaded, idempotent=True
        )
        if new_id != original_id:
            try:
                await self._http.request(
                    "DELETE", f"{self._path}/{id_segment(original_id)}", idempotent=True
                )
            except NotFoundError:
                pass
