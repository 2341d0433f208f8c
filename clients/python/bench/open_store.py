"""Times opening Parlant's SessionDocumentStore through the plug-in, with the per-version pass and
with ``full_scan=True``, alternately, against a service whose events collection is already loaded.

    DOCSTORE_URL=... DOCSTORE_KEY=... python open_store.py [--repeat 3]

Run by scripts/bench-open.sh, which loads the events. The first open (untimed) lets the store create
its indexes and metadata; then each round opens the store once each way and prints the seconds.
Prints one JSON line per measurement and a summary table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from parlant.core.loggers import LogLevel, StdoutLogger
from parlant.core.sessions import SessionDocumentStore
from parlant.core.tracer import LocalTracer

from parlant_docstore import SupabaseDocumentDatabase


async def open_once(full_scan: bool, logger: StdoutLogger) -> tuple[float, int]:
    """Seconds to open the store, and how many documents the loader was given."""
    calls = 0
    async with SupabaseDocumentDatabase(logger, table_prefix="parlant_sessions_", full_scan=full_scan) as db:
        original = db.get_collection

        async def counted_get_collection(name, schema, document_loader):  # type: ignore[no-untyped-def]
            async def counted(document):  # type: ignore[no-untyped-def]
                nonlocal calls
                calls += 1
                return await document_loader(document)

            return await original(name, schema, counted)

        db.get_collection = counted_get_collection  # type: ignore[method-assign]
        started = time.perf_counter()
        async with SessionDocumentStore(db, allow_migration=True):
            elapsed = time.perf_counter() - started
    return elapsed, calls


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    logger = StdoutLogger(LocalTracer(), log_level=LogLevel.WARNING, logger_id="open_store_bench")
    await open_once(False, logger)
    seconds: dict[str, list[float]] = {"per version": [], "full_scan=True": []}
    for round_number in range(arguments.repeat):
        for full_scan in (False, True):
            label = "full_scan=True" if full_scan else "per version"
            elapsed, calls = await open_once(full_scan, logger)
            seconds[label].append(elapsed)
            print(json.dumps({"round": round_number + 1, "mode": label, "seconds": elapsed, "loader_calls": calls}))
    print("\n| mode | opens | median s | min s | max s |\n|---|---|---|---|---|")
    for label, values in seconds.items():
        print(f"| {label} | {len(values)} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
    fast, full = statistics.median(seconds["per version"]), statistics.median(seconds["full_scan=True"])
    print(f"\nper version / full scan: {fast / full:.4f}; target: per version under 1 s: {'PASS' if fast < 1 else 'FAIL'}")


if __name__ == "__main__":
    asyncio.run(main())
