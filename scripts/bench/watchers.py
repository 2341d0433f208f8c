#!/usr/bin/env python3
"""Watchers against pollers for scripts/bench.sh (op `watch`; standard library only).

  watchers.py --port PORT --key KEY --mode watch|poll [--watchers 1000] [--rate 200]
              [--duration 10] [--interval 0.25] [--path /sessions/feed] [--host 127.0.0.1]
              [--service-pid PID --postmaster-pid PID]

Opens --watchers clients, each waiting for the events of a session of its own (`session_id` s0,
s1, ...). With `--mode watch` each holds `GET PATH:watch?session_id=eq.<s>` open (Server-Sent
Events); with `--mode poll` each asks `GET PATH?session_id=eq.<s>&cursor=...&limit=100` every
--interval seconds, as Parlant's PollingSessionListener does (250 ms). When all are ready it
appends --rate documents a second for --duration seconds, round robin over the
sessions, over 8 keep-alive connections, each POST timed to its 201. It prints JSON on stdout: how
many were written and seen, and the latency from each write's 201 to its watcher receiving it
(p50, p99, max, in ms; an event that arrives before its 201 was read counts as 0). With the pids,
also the CPU the service and PostgreSQL (the postmaster and all its children) used from the first
write until the last event arrived, in ms per second and µs per event.
"""

import argparse
import asyncio
import base64
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import process_ticks  # noqa: E402  (the same tick counting as bench.sh's CPU rows)

WRITERS = 8
TIMEOUT_S = 30.0


def raise_open_files(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def request(method, target, host, key, body=None):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {key}"]
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_head(reader):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_body(reader, headers):
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


class Run:
    def __init__(self, args):
        self.args = args
        self.written = {}  # id -> monotonic time of its 201
        self.seen = {}  # id -> monotonic time it reached its watcher
        self.errors = []
        self.stop = asyncio.Event()

    def saw(self, document_id):
        if document_id not in self.seen:
            self.seen[document_id] = time.monotonic()

    async def watcher(self, index, ready):
        args = self.args
        reader, writer = await asyncio.open_connection(args.host, args.port)
        writer.write(request("GET", f"{args.path}:watch?session_id=eq.s{index}", args.host, args.key))
        await writer.drain()
        status, headers = await read_head(reader)
        if status != 200:
            self.errors.append(f"watch s{index}: {status}")
            ready.set_result(False)
            return
        ready.set_result(True)
        buffer = b""
        try:
            while not self.stop.is_set():
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    return
                buffer += chunk[:-2]
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    for line in block.split(b"\n"):
                        if line.startswith(b"data: "):
                            document = json.loads(line[6:])
                            if "id" in document:
                                self.saw(document["id"])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def poller(self, index, ready):
        args = self.args
        reader, writer = await asyncio.open_connection(args.host, args.port)
        cursor = None
        first = True
        try:
            while not self.stop.is_set():
                target = f"{args.path}?session_id=eq.s{index}&limit=100" + (f"&cursor={cursor}" if cursor else "")
                writer.write(request("GET", target, args.host, args.key))
                await writer.drain()
                status, headers = await read_head(reader)
                body = json.loads(await read_body(reader, headers))
                if status != 200:
                    self.errors.append(f"poll s{index}: {status}")
                for item in body.get("items", []):
                    self.saw(item["id"])
                if body.get("items"):
                    last = body["items"][-1]
                    cursor = token(last["creation_utc"], last["id"])
                if first:
                    ready.set_result(True)
                    first = False
                await asyncio.sleep(args.interval)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError) as error:
            self.errors.append(f"poll s{index}: {type(error).__name__}")
            if first:
                ready.set_result(False)
        finally:
            writer.close()

    async def writer(self, number, start, count):
        args = self.args
        reader, writer = await asyncio.open_connection(args.host, args.port)
        try:
            for sequence in range(number, count, WRITERS):
                due = start + sequence / args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                document_id = f"w{sequence}"
                body = {"id": document_id, "session_id": f"s{sequence % args.watchers}", "kind": "message",
                        "data": {"message": f"event {sequence}"}}
                writer.write(request("POST", args.path, args.host, args.key, body))
                await writer.drain()
                status, headers = await read_head(reader)
                await read_body(reader, headers)
                if status == 201:
                    self.written[document_id] = time.monotonic()
                else:
                    self.errors.append(f"write {document_id}: {status}")
        finally:
            writer.close()

    async def main(self):
        args = self.args
        raise_open_files(args.watchers + WRITERS)
        loop = asyncio.get_running_loop()
        readies = [loop.create_future() for _ in range(args.watchers)]
        client = self.watcher if args.mode == "watch" else self.poller
        tasks = []
        for index in range(args.watchers):
            tasks.append(asyncio.create_task(client(index, readies[index])))
            if index % 100 == 99:
                await asyncio.sleep(0.05)
        ok = await asyncio.wait_for(asyncio.gather(*readies), 120)
        ready_count = sum(1 for value in ok if value)
        count = int(args.rate * args.duration)
        start = time.monotonic() + 0.1
        cpu_before = self.cpu_ticks()
        await asyncio.gather(*(self.writer(number, start, count) for number in range(WRITERS)))
        # Time for the last events to arrive (a poll interval, and some).
        deadline = time.monotonic() + max(2.0, 4 * args.interval)
        while time.monotonic() < deadline and len(self.seen.keys() & self.written.keys()) < len(self.written):
            await asyncio.sleep(0.05)
        cpu_after, wall = self.cpu_ticks(), time.monotonic() - start
        self.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        latencies = sorted(max(0.0, self.seen[i] - t) * 1000 for i, t in self.written.items() if i in self.seen)

        def quantile(q):
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else None

        print(json.dumps({
            "mode": args.mode, "watchers": args.watchers, "ready": ready_count, "rate": args.rate,
            "duration": args.duration, "interval": args.interval if args.mode == "poll" else None,
            "written": len(self.written), "seen": len(latencies), "p50_ms": quantile(0.5),
            "p99_ms": quantile(0.99), "max_ms": round(latencies[-1], 2) if latencies else None,
            "errors": self.errors[:20], "error_count": len(self.errors),
            **self.cpu_figures(cpu_before, cpu_after, wall),
        }))
        return 0

    def cpu_ticks(self):
        """(service ticks, PostgreSQL ticks), or None without the pids."""
        args = self.args
        if not args.service_pid or not args.postmaster_pid:
            return None
        postgres, _ = process_ticks(args.postmaster_pid, with_children=True)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                ticks, parent = process_ticks(entry)
                if parent == args.postmaster_pid:
                    postgres += ticks
        return process_ticks(args.service_pid)[0], postgres

    def cpu_figures(self, before, after, wall):
        if before is None or after is None or not self.written:
            return {}
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        service, postgres = ((a - b) * tick_ms for a, b in zip(after, before))
        return {
            "seconds": round(wall, 2),
            "service_cpu_ms_per_s": round(service / wall, 1), "postgres_cpu_ms_per_s": round(postgres / wall, 1),
            "service_cpu_us_per_event": round(1000 * service / len(self.written), 1),
            "postgres_cpu_us_per_event": round(1000 * postgres / len(self.written), 1),
        }


def token(creation_utc, document_id):
    """The cursor token of a document: base64url of [creation_utc, id], no padding."""
    return base64.urlsafe_b64encode(json.dumps([creation_utc, document_id]).encode()).decode().rstrip("=")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["watch", "poll"], required=True)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--path", default="/sessions/feed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--service-pid", type=int)
    parser.add_argument("--postmaster-pid", type=int)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(Run(parse(sys.argv[1:])).main()))
