#!/usr/bin/env python3
"""Idle keep-alive connections for scripts/bench.sh (op `idle`; standard library only).

  idle_connections.py --port PORT --key KEY --count N --docs DOCS --ready-file FILE
                      [--host 127.0.0.1] [--path /sessions/events] [--concurrency 256]
                      [--sources S] [--hold-max SECONDS]

Opens N TCP connections to the service; on each it sends one authorised
`GET PATH/<random loaded id>` with keep-alive and reads the whole answer (so each is a real HTTP
connection the service has parsed a request on), then leaves it idle. When every connection has
been tried it writes FILE (JSON: how many opened, how many answered 200 and kept alive, the errors,
the seconds it took) and holds them until SIGTERM, SIGINT or SIGUSR1 (or --hold-max seconds). Then
it counts the connections the service closed meanwhile, sends one more GET on each of the others,
and prints the final JSON on stdout (FILE's figures plus `closed_while_idle`, `answered_after`,
`held_seconds`).

Open files: the soft RLIMIT_NOFILE is raised to N + 256 as far as the hard limit allows. Source
addresses: with --sources S > 1 the connections are spread over 127.0.0.1 ... 127.0.0.S (one source
address has about 28,000 ephemeral ports here, `ip_local_port_range`); the default picks one per
20,000 connections.
"""

import argparse
import asyncio
import errno
import json
import os
import random
import resource
import signal
import sys
import time

PER_SOURCE = 20_000  # connections per local source address (ephemeral ports are about 28,000)
TIMEOUT_S = 30.0  # for one connect, or one request and its answer


def doc_id(i):
    """The id of loaded document i, as scripts/bench/load.sql and common.lua compute it."""
    return str(10000000000 + (i * 2654435761) % 4294967296)


def raise_open_files(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


class Connection:
    """One keep-alive connection: its stream pair, and whether it is still usable."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer


async def exchange(conn, request):
    """Sends one request and reads its whole answer. Returns None when it answered 200 and keeps the
    connection alive, else the name of what went wrong."""
    conn.writer.write(request)
    await conn.writer.drain()
    head = await conn.reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        await conn.reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await conn.reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                break
    else:
        return "no_length"
    if len(status) < 2 or status[1] != "200":
        return f"status_{status[1] if len(status) > 1 else '?'}"
    if headers.get("connection") == "close":
        return "connection_close"
    return None


def error_name(error):
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(error, asyncio.IncompleteReadError):
        return "closed_by_server"
    if isinstance(error, OSError) and error.errno in errno.errorcode:
        return errno.errorcode[error.errno]
    return type(error).__name__


class Opener:
    def __init__(self, args):
        self.args = args
        self.random = random.Random(11)
        self.open = []  # Connections that answered and stayed alive
        self.errors = {}
        self.opened = 0  # TCP connections established (answered or not)
        sources = args.sources or max(1, -(-args.count // PER_SOURCE))
        self.sources = [None] if sources == 1 else [f"127.0.0.{1 + n}" for n in range(sources)]

    def request(self):
        path = f"{self.args.path}/{doc_id(self.random.randrange(self.args.docs))}"
        return (f"GET {path} HTTP/1.1\r\nHost: {self.args.host}:{self.args.port}\r\n"
                f"Authorization: Bearer {self.args.key}\r\nConnection: keep-alive\r\n\r\n").encode()

    def count_error(self, name):
        self.errors[name] = self.errors.get(name, 0) + 1

    async def open_one(self, number, gate):
        async with gate:
            source = self.sources[number % len(self.sources)]
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    self.args.host, self.args.port, local_addr=(source, 0) if source else None), TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - every failure is counted by its kind
                self.count_error("connect_" + error_name(error))
                return
            self.opened += 1
            conn = Connection(reader, writer)
            try:
                problem = await asyncio.wait_for(exchange(conn, self.request()), TIMEOUT_S)
            except Exception as error:  # noqa: BLE001
                problem = error_name(error)
            if problem:
                self.count_error(problem)
                writer.close()
            else:
                self.open.append(conn)

    async def check_one(self, conn, gate):
        """After holding: one more GET on a connection the service has not closed."""
        async with gate:
            try:
                problem = await asyncio.wait_for(exchange(conn, self.request()), TIMEOUT_S)
            except Exception as error:  # noqa: BLE001
                problem = error_name(error)
            if problem:
                self.count_error("after_" + problem)
            return problem is None

    async def run(self):
        args = self.args
        limit = raise_open_files(args.count)
        gate = asyncio.Semaphore(args.concurrency)
        started = time.monotonic()
        await asyncio.gather(*(self.open_one(n, gate) for n in range(args.count)))
        opened_at = time.monotonic()
        result = {
            "requested": args.count,
            "opened": self.opened,
            "answered": len(self.open),
            "open_seconds": round(opened_at - started, 3),
            "sources": [s or "default" for s in self.sources],
            "nofile_limit": limit,
            "errors": dict(self.errors),
        }
        temporary = args.ready_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(result, handle)
        os.replace(temporary, args.ready_file)

        # Hold them idle until bench.sh says the measured run is over.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            loop.add_signal_handler(sig, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), args.hold_max)
        except asyncio.TimeoutError:
            result["hold_max_reached"] = True
        result["held_seconds"] = round(time.monotonic() - opened_at, 3)

        # A connection the service closed has seen its end of stream while the loop waited.
        alive = [conn for conn in self.open if not conn.reader.at_eof()]
        result["closed_while_idle"] = len(self.open) - len(alive)
        answers = await asyncio.gather(*(self.check_one(conn, gate) for conn in alive))
        result["answered_after"] = sum(answers)
        result["errors"] = dict(self.errors)
        for conn in self.open:
            conn.writer.close()
        print(json.dumps(result))
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--path", default="/sessions/events")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--concurrency", type=int, default=256, help="connections being opened at once")
    parser.add_argument("--sources", type=int, default=0, help="local source addresses (0: automatic)")
    parser.add_argument("--hold-max", type=float, default=900.0, help="seconds to hold at most")
    return asyncio.run(Opener(parser.parse_args()).run())


if __name__ == "__main__":
    sys.exit(main())
