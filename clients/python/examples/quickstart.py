"""The Quick Start of Parlant's Supabase adapter, against the document service.

Only the import of ``SupabaseDocumentDatabase`` differs from the adapter's documentation; the
service is found through ``DOCSTORE_URL`` and ``DOCSTORE_KEY``.

    export DOCSTORE_URL=http://127.0.0.1:8080 DOCSTORE_KEY=<the service key>
    python examples/quickstart.py

Parlant then serves (on ``PARLANT_PORT``, default 8800) until Ctrl-C; with ``--once`` it stops
as soon as it is up. Run it twice: the second run finds the customer and the session the first one
stored.

Parlant's server needs an LLM provider (by default Emcie, ``EMCIE_API_KEY``). When none is
configured (no ``EMCIE_API_KEY`` nor ``OPENAI_API_KEY``), this example starts the server with a
stand-in NLP service that refuses to generate text: everything here is storage and works, but the
agent could not answer a message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import httpx
import parlant.sdk as p
from parlant.core.emission.event_publisher import EventPublisherFactory
from parlant.core.nlp.service import NLPService
from parlant.core.sessions import SessionListener

from parlant_docstore import (  # was: from parlant.adapters.db.supabase_db import SupabaseDocumentDatabase
    DocstoreSessionListener,
    SupabaseDocumentDatabase,
)

EXIT_STACK = AsyncExitStack()


async def configure_container(container: p.Container) -> p.Container:
    container = container.clone()

    # Create a database instance for each store (each selects its store by table_prefix)
    session_db = await EXIT_STACK.enter_async_context(
        SupabaseDocumentDatabase(
            logger=container[p.Logger],
            table_prefix="parlant_sessions_",
        )
    )

    customer_db = await EXIT_STACK.enter_async_context(
        SupabaseDocumentDatabase(
            logger=container[p.Logger],
            table_prefix="parlant_customers_",
        )
    )

    variable_db = await EXIT_STACK.enter_async_context(
        SupabaseDocumentDatabase(
            logger=container[p.Logger],
            table_prefix="parlant_context_variables_",
        )
    )

    # Configure stores using the service
    session_store = await EXIT_STACK.enter_async_context(
        p.SessionDocumentStore(database=session_db, allow_migration=True)
    )
    container[p.SessionDocumentStore] = session_store
    container[p.SessionStore] = session_store

    customer_store = await EXIT_STACK.enter_async_context(
        p.CustomerDocumentStore(
            id_generator=container[p.IdGenerator],
            database=customer_db,
            allow_migration=True,
        )
    )
    container[p.CustomerDocumentStore] = customer_store
    container[p.CustomerStore] = customer_store

    variable_store = await EXIT_STACK.enter_async_context(
        p.ContextVariableDocumentStore(
            id_generator=container[p.IdGenerator],
            database=variable_db,
            allow_migration=True,
        )
    )
    container[p.ContextVariableDocumentStore] = variable_store
    container[p.ContextVariableStore] = variable_store

    # Configure event emitter to use session store
    container[p.EventEmitterFactory] = EventPublisherFactory(
        container[p.AgentStore],
        session_store,
    )

    # Parlant's long polls for new events, woken by the service's change feed instead of a 250 ms timer
    container[SessionListener] = await EXIT_STACK.enter_async_context(
        DocstoreSessionListener(session_store, session_db)
    )

    return container


async def main() -> None:
    async with (
        EXIT_STACK,
        p.Server(
            configure_container=configure_container,
            port=int(os.environ.get("PARLANT_PORT", "8800")),
            tool_service_port=int(os.environ.get("PARLANT_TOOL_PORT", "8818")),
            nlp_service=_nlp_service(),
        ) as server,
    ):
        # Parlant keeps agents in memory, so a fixed id lets sessions outlive a restart.
        agent = await server.create_agent(
            id="my-agent",
            name="My Agent",
            description="Agent using the document service for persistent storage",
        )

        customer = await server.find_customer(id="test-customer") or await server.create_customer(
            id="test-customer", name="Test Customer", metadata={"tier": "gold"}
        )

        # Test: create a session to verify the service is working (Parlant 3.3's SDK has no
        # Agent.create_session, so the session store from the container is used)
        sessions = server.container[p.SessionStore]
        session = await sessions.create_session(
            customer_id=p.CustomerId(customer.id),
            agent_id=p.AgentId(agent.id),
            title="Quick Start",
        )
        print(f"Created session: {session.id}")

        listing = await sessions.list_sessions(customer_id=p.CustomerId(customer.id))
        print(f"Sessions of {customer.id} in the service: {listing.total_count}")
        for stored in listing.items:
            print(f"  {stored.id}  {stored.creation_utc.isoformat()}  {stored.title}")
        # All document operations of these three stores now use the service

        if "--once" in sys.argv:
            # Parlant serves when the `async with` block ends, until Ctrl-C; stop it as soon as
            # it is up, the way Ctrl-C would.
            asyncio.get_running_loop().create_task(_interrupt_when_serving(server.port))


async def _interrupt_when_serving(port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        # Parlant's own REST API, one session a page: its cursors come from this adapter's
        # find(), which turns the service's next_cursor into Parlant's Cursor and back.
        pages, cursor = 0, None
        while True:
            params = {"customer_id": "test-customer", "limit": "1", **({"cursor": cursor} if cursor else {})}
            page = (await client.get(f"http://127.0.0.1:{port}/sessions", params=params)).json()
            pages += 1
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        print(f"Parlant's REST API listed them in {pages} page(s) of 1 (total_count {page['total_count']})")
    print("Parlant is serving; stopping it (--once)")
    signal.raise_signal(signal.SIGINT)


# -- a stand-in NLP service, only when no LLM provider is configured --------------------------

T = TypeVar("T")


def _nlp_service() -> Callable[[p.Container], NLPService]:
    """Parlant's default (Emcie) or OpenAI when their key is set, else a storage-only stand-in."""
    if os.environ.get("EMCIE_API_KEY"):
        return p.NLPServices.emcie
    if os.environ.get("OPENAI_API_KEY"):
        return p.NLPServices.openai

    from parlant.core.nlp.embedding import NullEmbedder
    from parlant.core.nlp.generation import SchematicGenerator
    from parlant.core.nlp.moderation import NoModeration
    from parlant.core.nlp.tokenization import ZeroEstimatingTokenizer

    class NoSchematicGenerator(SchematicGenerator[T]):
        async def generate(self, prompt: Any, hints: Any = None) -> Any:
            raise RuntimeError("No LLM provider is configured (set EMCIE_API_KEY or OPENAI_API_KEY).")

        @property
        def id(self) -> str:
            return "none"

        @property
        def max_tokens(self) -> int:
            return 0

        @property
        def tokenizer(self) -> ZeroEstimatingTokenizer:
            return ZeroEstimatingTokenizer()

    class StorageOnlyNLPService(NLPService):
        @property
        def supports_streaming(self) -> bool:
            return False

        async def get_schematic_generator(self, t: type[T], hints: Any = None) -> Any:
            return NoSchematicGenerator[t]()  # type: ignore[valid-type]

        async def get_streaming_text_generator(self, hints: Any = None) -> Any:
            raise NotImplementedError

        async def get_embedder(self, hints: Any = None) -> NullEmbedder:
            return NullEmbedder()

        async def get_moderation_service(self) -> NoModeration:
            return NoModeration()

    print("(no LLM provider configured: starting Parlant with a storage-only NLP stand-in)")
    return lambda container: StorageOnlyNLPService()


if __name__ == "__main__":
    asyncio.run(main())
