#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  report.py ready URL START_FILE TIMEOUT_S
      Creates START_FILE.armed, then polls URL (the service's /readyz) every 2 ms until it answers
      200 and prints the milliseconds since the time in START_FILE (ns since the epoch, written by
      bench.sh just before it spawns the service, after the poller is armed).
  report.py free-port
      Prints a free TCP port on 127.0.0.1.
  report.py cpu SERVER_PIDS POSTMASTER_PID
      Prints CPU tick counters (the server: the service, or the comma-separated processes of an anchor
      server, summed; PostgreSQL; machine busy; machine total) for the per-request CPU figures;
      bench.sh takes one before and one after each run.
  report.py report RUN_DIR [JSON_FILE]
      Reads RUN_DIR/meta.env and the runs in RUN_DIR/runs, prints the table, the memory and start
      figures and the targets, and writes the same figures as JSON to JSON_FILE when given.
      Exits 3 when a run had failed requests.

Run files, per operation OP and client count C (written by bench.sh):
  runs/OP_cC.wrk        wrk's output, with the line `BENCH_RESULT {json}` of scripts/bench/common.lua
  runs/OP_cC.curl       streamed find only: one line per request, `status bytes seconds exit_code`
  runs/OP_cC.pgbench    pgbench's summary output
  runs/OP_cC.pglog.*    pgbench --log files: per-transaction latency in µs in the third field
  runs/OP_cC.cpu        `report.py cpu` before and after the service's measured run
  runs/OP_cC.pgcpu      the same around the pgbench run
The METRICS=off row (op metrics_off): OP is get_metrics_off, with .wrk and .cpu files only (a second
service process, same wrk script as the GET by id row).
Anchor rows (op anchors): OP is anchor_cserver, anchor_cpipeline or anchor_coalesce, with .wrk and
.cpu files only (the C servers of ../shared/anchors, same wrk script as the GET by id row).
Idle connections (op idle), at C = idle_clients (32):
  runs/idle_base_cC.*   the GET run (.wrk, .cpu, .loglines) just before the idle connections opened
  runs/idle_cC.*        the same run while they are open
  runs/idle_ready.json  scripts/bench/idle_connections.py's figures once every connection was tried
  runs/idle_final.json  its final figures (also the connections still open and answering after the run)
"""

import glob
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

OPERATIONS = [
    ("get", "GET by id"),
    ("insert", "POST insert"),
    ("merge", "PATCH merge"),
    ("update_one", "POST :updateOne"),
    ("page_first", "page of 100, first"),
    ("page_middle", "page of 100, middle"),
    ("page_last", "page of 100, last"),
    ("stream", "streamed find, all"),
    ("find_ids", ":find, $or of 10,000 ids"),
]
GET_RATIO_TARGET = 0.65  # GET by id at 32 connections, of pgbench's rate: the C reference servers' level
WRITE_RATIO_TARGET = 0.85  # insert, PATCH merge and :updateOne at 32 connections, of pgbench's rate
GET_P99_FACTOR = 1.5  # GET by id at 32 connections: wrk's p99 at most this times pgbench's p99
FIND_IDS_RATIO_TARGET = 0.50  # the find of 10,000 ids, at every client count, of pgbench's rate
LATENCY_CONSISTENCY_SLACK = 1.1  # wrk's mean latency x rate may exceed the connections by this much
KEYSET_TARGET = 1.5  # last page's mean latency within this factor of the first's
RSS_TARGET_KIB = 64 * 1024  # peak RSS while streaming every document
TARGET_DOCS = 1_000_000  # the keyset and RSS targets are stated at this size
# The C reference servers (../shared/anchors), run with the GET by id script right after its row.
ANCHORS = [
    ("anchor_cserver", "GET by id (cserver.c)"),
    ("anchor_cpipeline", "GET by id (cpipeline.c)"),
    ("anchor_coalesce", "GET by id (cpipeline.c COALESCE=1)"),
]
# The same service with METRICS=off, run with the GET by id script right after its row.
VARIANTS = [("get_metrics_off", "GET by id, METRICS=off")]
METRICS_COST_FLOOR = 0.90  # GET by id at 32 connections, counted, of its rate with METRICS=off: within noise
IDLE_THREADS_SLACK = 8  # threads with the idle connections open <= EVENT_LOOPS + WORKER_THREADS + this
IDLE_RSS_TARGET_KIB = 128 * 1024  # RSS with the idle connections open
IDLE_P99_FACTOR = 1.5  # GET p99 with the idle connections open, over its p99 without them


def ready(url, start_file, timeout):
    with open(start_file + ".armed", "w", encoding="utf-8"):
        pass
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    now = time.time_ns()
                    with open(start_file, encoding="utf-8") as handle:
                        start_ns = int(handle.read().strip())
                    print(f"{(now - start_ns) / 1e6:.1f}")
                    return 0
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.002)
    print(f"report.py: {url} did not answer 200 within {timeout} s", file=sys.stderr)
    return 1


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])
    return 0


def process_ticks(pid, with_children=False):
    """utime + stime (+ cutime + cstime: reaped children) of a process, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, None
    # fields[0] is the state (field 3 of stat): utime is field 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks, int(fields[1])


def cpu(server_pids, postmaster_pid):
    """Prints `server_ticks postgres_ticks busy_ticks total_ticks`: the CPU time of the server measured
    (the service, or the processes of an anchor server: SERVER_PIDS is a comma-separated list, summed),
    all of PostgreSQL's (the postmaster, its live children, and the children it has reaped), and the
    machine's busy and total time from /proc/stat."""
    service = sum(process_ticks(pid)[0] for pid in server_pids.split(",") if pid)
    postgres, _ = process_ticks(postmaster_pid, with_children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ticks, parent = process_ticks(entry)
            if parent == int(postmaster_pid):
                postgres += ticks
    with open("/proc/stat", encoding="utf-8") as handle:
        values = [int(v) for v in handle.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    print(service, postgres, busy, busy + idle + iowait)
    return 0


def read_cpu(path, operations):
    """CPU per request (µs) of the service and of PostgreSQL, and the machine's busy share, from
    the snapshots before and after a run."""
    if not os.path.exists(path) or not operations:
        return None
    with open(path, encoding="utf-8") as handle:
        lines = [[int(v) for v in line.split()] for line in handle if line.strip()]
    if len(lines) != 2:
        return None
    delta = [after - before for before, after in zip(lines[0], lines[1])]
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    return {
        "service_us_per_request": delta[0] * tick_us / operations,
        "postgres_us_per_request": delta[1] * tick_us / operations,
        "machine_busy_percent": 100 * delta[2] / delta[3] if delta[3] else None,
    }


def read_meta(run_dir):
    meta = {}
    with open(os.path.join(run_dir, "meta.env"), encoding="utf-8") as handle:
        for line in handle:
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                meta[key] = value
    return meta


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def read_wrk(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("BENCH_RESULT "):
                raw = json.loads(line[len("BENCH_RESULT "):])
                errors = {
                    name[len("errors_"):]: raw[name] for name in raw if name.startswith("errors_")
                }
                return {
                    "requests": raw["requests"],
                    "seconds": raw["seconds"],
                    "rps": raw["rps"],
                    "p50_ms": raw["p50_us"] / 1000,
                    "p90_ms": raw["p90_us"] / 1000,
                    "p99_ms": raw["p99_us"] / 1000,
                    "max_ms": raw["max_us"] / 1000,
                    "mean_ms": raw["mean_us"] / 1000,
                    "bytes": raw["bytes"],
                    "errors": errors,
                    "error_count": sum(errors.values()),
                    "non2xx": raw["errors_status"],
                }
    return {"requests": 0, "rps": 0.0, "error_count": 1, "errors": {"no_result": 1}, "non2xx": 0}


def check_latency_consistency(service, clients):
    """Little's law for a closed loop: requests per second times mean latency is the number of
    requests in flight, which cannot exceed the connections. wrk's latency histogram sometimes breaks
    it (wg/wrk issue #438: a mean several times what its own rate allows); such a run's p50/p99 are
    then marked unreliable rather than reported as the service's."""
    mean_ms = service.get("mean_ms")
    if not mean_ms or not service.get("rps"):
        return
    in_flight = service["rps"] * mean_ms / 1000
    service["in_flight"] = in_flight
    service["latency_consistent"] = in_flight <= LATENCY_CONSISTENCY_SLACK * clients


def read_server_latency(log_path, range_path):
    """p50/p99 of the service's own access-log durations (request line received to response sent)
    over the lines it wrote during the measured run: a second view of latency, independent of wrk."""
    if not os.path.exists(range_path) or not os.path.exists(log_path):
        return {}
    with open(range_path, encoding="utf-8") as handle:
        bounds = [int(line) for line in handle if line.strip()]
    if len(bounds) != 2:
        return {}
    durations = []
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number < bounds[0]:
                continue
            if number >= bounds[1]:
                break
            # `... info METHOD ROUTE STATUS 1.2ms id=<request id> [key=<fingerprint>]`; requests that
            # ended early carry a note after it and are left out.
            fields = line.split()
            while fields and fields[-1].startswith(("key=", "id=")):
                fields.pop()
            last = fields[-1] if fields else ""
            if " info " in line and last.endswith("ms"):
                try:
                    durations.append(float(last[:-2]))
                except ValueError:
                    pass
    durations.sort()
    if not durations:
        return {}
    return {
        "server_p50_ms": percentile(durations, 0.5),
        "server_p99_ms": percentile(durations, 0.99),
        "server_requests": len(durations),
    }


def read_curl(path):
    """The streamed find: several timed requests; p99 is reported as the slowest of them."""
    if not os.path.exists(path):
        return None
    times, sizes, failures = [], [], 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) != 4:
                continue
            status, size, seconds, exit_code = fields
            if status != "200" or exit_code != "0":
                failures += 1
            times.append(float(seconds))
            sizes.append(int(size))
    times.sort()
    mean = sum(times) / len(times) if times else 0.0
    return {
        "requests": len(times),
        "seconds": sum(times),
        "rps": 1 / mean if mean else 0.0,
        "p50_ms": percentile(times, 0.5) * 1000 if times else None,
        "p99_ms": times[-1] * 1000 if times else None,
        "mean_ms": mean * 1000,
        "bytes": sizes[-1] if sizes else 0,
        "errors": {"status_or_transfer": failures},
        "error_count": failures,
        "non2xx": failures,
    }


def read_pgbench(prefix):
    path = prefix + ".pgbench"
    if not os.path.exists(path):
        return None
    result = {"tps": None, "transactions": None, "failed": 0, "latency_avg_ms": None}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("tps = "):
                result["tps"] = float(line.split()[2])
            elif line.startswith("number of transactions actually processed:"):
                result["transactions"] = int(line.split(":")[1].split()[0].split("/")[0])
            elif line.startswith("number of failed transactions:"):
                result["failed"] = int(line.split(":")[1].split()[0])
            elif line.startswith("latency average = "):
                result["latency_avg_ms"] = float(line.split()[3])
    latencies = []
    for log in glob.glob(glob.escape(prefix) + ".pglog.*"):
        with open(log, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 3:
                    latencies.append(int(fields[2]))
    latencies.sort()
    result["logged"] = len(latencies)
    result["p50_ms"] = percentile(latencies, 0.50) / 1000 if latencies else None
    result["p99_ms"] = percentile(latencies, 0.99) / 1000 if latencies else None
    if result["tps"] is None:
        result["failed"] = max(result["failed"], 1)
    return result


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def mib(kib):
    return f"{int(kib) / 1024:.1f} MiB" if kib not in (None, "") else "-"


def row_order(connections):
    """(operation, label, clients) in the table's order: at each client count GET by id and then the
    anchors' rows (measured right after it), then every other operation."""
    labels = dict(OPERATIONS)
    for clients in connections:
        yield "get", labels["get"], clients
        for op, label in VARIANTS + ANCHORS:
            yield op, label, clients
    for op, label in OPERATIONS:
        if op != "get":
            for clients in ([1] if op == "stream" else connections):
                yield op, label, clients


def read_service_run(run_dir, prefix, clients):
    """A wrk run against the service: its figures, CPU per request, wrk's consistency and the service's
    own access-log latency over the run."""
    service = read_wrk(prefix + ".wrk")
    if service:
        service["cpu"] = read_cpu(prefix + ".cpu", service.get("requests"))
        check_latency_consistency(service, clients)
        service.update(read_server_latency(os.path.join(run_dir, "service.log"), prefix + ".loglines"))
    return service


def build(run_dir):
    meta = read_meta(run_dir)
    runs = os.path.join(run_dir, "runs")
    docs = int(meta.get("docs", "0"))
    connections = [int(c) for c in meta.get("connections", "1 32").split()]
    anchor_ops = {op for op, _ in ANCHORS}
    # Rows measured with get's wrk script against another server: its pgbench tps is their ceiling.
    beside_get = anchor_ops | {op for op, _ in VARIANTS}
    rows = []
    get_tps = {}  # pgbench's GET by id tps per client count: the anchors' ceiling too
    for op, label, clients in row_order(connections):
        prefix = os.path.join(runs, f"{op}_c{clients}")
        if op == "stream":
            service = read_curl(prefix + ".curl")
            if service:
                service["cpu"] = read_cpu(prefix + ".cpu", service.get("requests"))
        elif op in beside_get:
            # An anchor server, or the METRICS=off service: its own processes' CPU (the .cpu files);
            # the access log is the main service's only.
            service = read_wrk(prefix + ".wrk")
            if service:
                service["cpu"] = read_cpu(prefix + ".cpu", service.get("requests"))
                check_latency_consistency(service, clients)
        else:
            service = read_service_run(run_dir, prefix, clients)
        pgbench = None if op in beside_get else read_pgbench(prefix)
        if service is None and pgbench is None:
            continue
        if pgbench:
            pgbench["cpu"] = read_cpu(prefix + ".pgcpu", pgbench.get("transactions"))
            if op == "get":
                get_tps[clients] = pgbench.get("tps")
        ceiling = get_tps.get(clients) if op in beside_get else (pgbench or {}).get("tps")
        ratio = service["rps"] / ceiling if service and ceiling else None
        row = {
            "operation": op,
            "label": label,
            "connections": clients,
            "service": service,
            "pgbench": pgbench,
            "ratio": ratio,
            "anchor": op in anchor_ops,
            "checks": [],
        }
        if clients == 32 and op in ("get", "insert", "merge", "update_one"):
            floor = GET_RATIO_TARGET if op == "get" else WRITE_RATIO_TARGET
            row["checks"].append({
                "target": f"ratio >= {floor:.2f}",
                "pass": ratio is not None and ratio >= floor,
            })
        if op == "find_ids":
            row["checks"].append({
                "target": f"ratio >= {FIND_IDS_RATIO_TARGET:.2f}",
                "pass": ratio is not None and ratio >= FIND_IDS_RATIO_TARGET,
            })
        if clients == 32 and op == "get" and service:
            pg_p99 = (pgbench or {}).get("p99_ms")
            row["checks"].append({
                "target": f"p99 <= {GET_P99_FACTOR:g}x pgbench's",
                "pass": (service.get("p99_ms") is not None and pg_p99 is not None
                         and service["p99_ms"] <= GET_P99_FACTOR * pg_p99
                         and service.get("latency_consistent", True)),
            })
        rows.append(row)

    targets = []
    for row in rows:
        for check in row["checks"]:
            targets.append({
                "target": f"{row['label']} at {row['connections']} connections: {check['target']}",
                "value": (f"ratio {fmt(row['ratio'], 2)}" if check["target"].startswith("ratio")
                          else f"p99 {fmt(row['service']['p99_ms'], 2)} ms against pgbench's "
                          f"{fmt((row['pgbench'] or {}).get('p99_ms'), 2)} ms"
                          + ("" if row["service"].get("latency_consistent", True)
                             else " (wrk's latencies do not add up; see the warning)")),
                "pass": check["pass"],
            })
    by_key = {(row["operation"], row["connections"]): row for row in rows}
    counted, uncounted = by_key.get(("get", 32)), by_key.get(("get_metrics_off", 32))
    if counted and uncounted and counted["service"] and uncounted["service"] and uncounted["service"]["rps"]:
        share = counted["service"]["rps"] / uncounted["service"]["rps"]
        targets.append({
            "target": f"GET by id at 32 connections with metrics counted >= {METRICS_COST_FLOOR:.2f}x "
                      "its rate with METRICS=off",
            "value": f"{share:.2f}x",
            "pass": share >= METRICS_COST_FLOOR,
        })
    for clients in connections:
        first, last = by_key.get(("page_first", clients)), by_key.get(("page_last", clients))
        if first and last and first["service"] and last["service"] and last["service"]["rps"]:
            factor = first["service"]["rps"] / last["service"]["rps"]
            targets.append({
                "target": f"last keyset page within {KEYSET_TARGET:g}x the first ({clients} connections, "
                          f"{docs:,} documents; stated at {TARGET_DOCS:,})",
                "value": f"{factor:.2f}x (mean latency last/first)",
                "pass": factor <= KEYSET_TARGET,
            })
    peak = meta.get("stream_peak_hwm_kib")
    if peak:
        targets.append({
            "target": f"peak RSS < 64 MiB while streaming {docs:,} documents (stated at {TARGET_DOCS:,})",
            "value": mib(peak),
            "pass": int(peak) < RSS_TARGET_KIB,
        })
    errors = [
        f"{row['label']} at {row['connections']} connections: "
        f"{'server' if row['anchor'] else 'service'} {row['service']['errors']}"
        for row in rows if row["service"] and row["service"]["error_count"]
    ] + [
        f"{row['label']} at {row['connections']} connections: pgbench {row['pgbench']['failed']} failed"
        for row in rows if row["pgbench"] and row["pgbench"]["failed"]
    ]
    memory = {
        "idle_rss_kib": meta.get("idle_rss_kib"),
        "idle_hwm_kib": meta.get("idle_hwm_kib"),
        "stream_peak_hwm_kib": meta.get("stream_peak_hwm_kib"),
        "stream_max_sampled_rss_kib": meta.get("stream_max_sampled_rss_kib"),
        "end_rss_kib": meta.get("end_rss_kib"),
        "end_hwm_kib": meta.get("end_hwm_kib"),
    }
    memory = {key: int(value) if value else None for key, value in memory.items()}
    idle = build_idle(run_dir, meta)
    if idle:
        targets.extend(idle.pop("targets"))
        errors.extend(idle.pop("errors"))
    feed = build_feed(run_dir)
    if feed:
        targets.extend(feed.pop("targets"))
        errors.extend(feed.pop("errors"))
    return {
        "meta": meta,
        "rows": rows,
        "memory": memory,
        "start_to_ready_ms": float(meta["start_to_ready_ms"]) if meta.get("start_to_ready_ms") else None,
        "cpu_service_over_cserver": cpu_service_over_cserver(by_key),
        "idle_connections": idle,
        "change_feed": feed,
        "targets": targets,
        "errors": errors,
    }


def cpu_service_over_cserver(by_key, clients=32):
    """The service's CPU per GET by id over cserver.c's, at 32 connections (None unless both ran)."""
    service = ((by_key.get(("get", clients)) or {}).get("service") or {}).get("cpu") or {}
    anchor = ((by_key.get(("anchor_cserver", clients)) or {}).get("service") or {}).get("cpu") or {}
    ours, theirs = service.get("service_us_per_request"), anchor.get("service_us_per_request")
    if not ours or not theirs:
        return None
    return {"connections": clients, "service_us": ours, "cserver_us": theirs, "ratio": ours / theirs}


def build_feed(run_dir):
    """The change feed against polling (op watch): each mode's latency from a write's 201 to its client
    seeing it, and the CPU the service and PostgreSQL spent meanwhile; the p99 target."""
    runs = os.path.join(run_dir, "runs")
    modes = {mode: read_json(os.path.join(runs, f"watch_{mode}.json")) for mode in ("watch", "poll")}
    if not any(modes.values()):
        return None
    targets, errors = [], []
    for mode, run in modes.items():
        if run and (run.get("error_count") or run.get("seen", 0) < run.get("written", 0)):
            errors.append(f"{mode}: {run.get('error_count')} errors, {run.get('seen')} of {run.get('written')} "
                          f"events seen ({'; '.join(run.get('errors', [])[:3])})")
    watch = modes["watch"] or {}
    if watch.get("p99_ms") is not None:
        targets.append({
            "target": f"change feed p99 at {watch.get('watchers')} watchers and {watch.get('rate'):g} events/s "
                      "under 50 ms",
            "value": f"{watch['p99_ms']:.1f} ms",
            "pass": watch["p99_ms"] < 50,
        })
    return {"watch": modes["watch"], "poll": modes["poll"], "targets": targets, "errors": errors}


def print_table(table, indent=""):
    """Rows of cells as a Markdown table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for index, line in enumerate(table):
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        print(indent + "| " + " | ".join(cells) + " |")
        if index == 0:
            print(indent + "|" + "|".join("-" * (w + 2) for w in widths) + "|")


def print_feed(feed):
    """The change feed section: the same waits by the feed and by 250 ms polling, side by side."""
    print("\nchange feed (scripts/bench/watchers.py): each client waits for the events of a session of its own "
          "while events are appended; latency from the writer's 201 to the client seeing the event")
    header = ["clients waiting by", "clients", "events/s", "seen", "p50 ms", "p99 ms", "max ms",
              "service CPU ms/s", "PostgreSQL CPU ms/s"]
    table = [header]
    for name, run in (("GET :watch (SSE)", feed["watch"]), ("polling find every 250 ms", feed["poll"])):
        run = run or {}
        table.append([
            name, fmt(run.get("watchers"), 0), fmt(run.get("rate"), 0),
            f"{run.get('seen', '-')}/{run.get('written', '-')}", fmt(run.get("p50_ms"), 1), fmt(run.get("p99_ms"), 1),
            fmt(run.get("max_ms"), 1), fmt(run.get("service_cpu_ms_per_s")), fmt(run.get("postgres_cpu_ms_per_s")),
        ])
    print_table(table, indent="  ")
    watch, poll = feed["watch"] or {}, feed["poll"] or {}
    for what, key in (("service", "service_cpu_ms_per_s"), ("PostgreSQL", "postgres_cpu_ms_per_s")):
        if watch.get(key) and poll.get(key):
            print(f"  {what} CPU, feed / polling: {watch[key]:.1f} / {poll[key]:.1f} ms/s = {watch[key] / poll[key]:.2f}")


def read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def build_idle(run_dir, meta):
    """The idle keep-alive connections (op idle): GET at idle_clients connections without and with them
    open, what the opener got, the service's threads and RSS while they were open, and the targets."""
    if "idle_conns_requested" not in meta:
        return None
    runs = os.path.join(run_dir, "runs")
    clients = int(meta.get("idle_conns_clients", "32"))
    requested = int(meta["idle_conns_requested"])
    without = read_service_run(run_dir, os.path.join(runs, f"idle_base_c{clients}"), clients)
    loaded = read_service_run(run_dir, os.path.join(runs, f"idle_c{clients}"), clients)
    opener = read_json(os.path.join(runs, "idle_final.json")) or read_json(os.path.join(runs, "idle_ready.json"))

    def number(key):
        value = meta.get(key)
        return int(value) if value not in (None, "") else None

    event_loops, worker_threads = number("idle_conns_event_loops"), number("idle_conns_worker_threads")
    thread_limit = (event_loops + worker_threads + IDLE_THREADS_SLACK
                    if event_loops is not None and worker_threads is not None else None)
    idle = {
        "requested": requested,
        "connections": clients,
        "opener": opener,
        "without": without,
        "with": loaded,
        "threads_before": number("idle_conns_threads_before"),
        "threads_max": number("idle_conns_threads_max"),
        "threads_limit": thread_limit,
        "event_loops": event_loops,
        "worker_threads": worker_threads,
        "rss_before_kib": number("idle_conns_rss_before_kib"),
        "rss_max_sampled_kib": number("idle_conns_rss_max_kib"),
        "hwm_kib": number("idle_conns_hwm_kib"),
        "hwm_reset": meta.get("idle_conns_hwm_reset") == "yes",
        "samples": number("idle_conns_samples"),
        "connection_limit": number("connection_limit"),
        "connection_timeout_s": number("connection_timeout"),
        "targets": [],
        "errors": [],
    }
    label = f"{requested:,} idle connections"
    answered = (opener or {}).get("answered")
    idle["targets"].append({
        "target": f"{label} opened, each answered a GET and kept alive",
        "value": (f"{answered:,} of {requested:,} answered" if answered is not None
                  else "the opener reported nothing"),
        "pass": answered == requested,
    })
    threads = idle["threads_max"]
    if thread_limit is not None:
        idle["targets"].append({
            "target": f"service threads with {label} open <= {thread_limit} (EVENT_LOOPS {event_loops} "
                      f"+ WORKER_THREADS {worker_threads} + {IDLE_THREADS_SLACK})",
            "value": f"max {threads} sampled" if threads is not None else "not sampled",
            "pass": threads is not None and threads <= thread_limit,
        })
    # The peak: the highest sample, or VmHWM when it was reset just before the connections opened.
    peaks = [idle["rss_max_sampled_kib"]] + ([idle["hwm_kib"]] if idle["hwm_reset"] else [])
    peaks = [p for p in peaks if p is not None]
    idle["targets"].append({
        "target": f"service RSS with {label} open < {IDLE_RSS_TARGET_KIB // 1024} MiB",
        "value": (f"max sampled {mib(idle['rss_max_sampled_kib'])}, VmHWM {mib(idle['hwm_kib'])}"
                  + ("" if idle["hwm_reset"] else " (not reset: the service's lifetime peak)")),
        "pass": bool(peaks) and max(peaks) < IDLE_RSS_TARGET_KIB,
    })
    base_p99, idle_p99 = (without or {}).get("p99_ms"), (loaded or {}).get("p99_ms")
    consistent = all((run or {}).get("latency_consistent", True) for run in (without, loaded))
    idle["p99_factor"] = idle_p99 / base_p99 if base_p99 and idle_p99 is not None else None
    # The service's own view (access log), shown beside wrk's; the target is on wrk's p99.
    base_server, idle_server = (without or {}).get("server_p99_ms"), (loaded or {}).get("server_p99_ms")
    idle["targets"].append({
        "target": f"GET p99 at {clients} connections with {label} open <= {IDLE_P99_FACTOR:g}x without",
        "value": (f"{fmt(idle_p99, 2)} ms against {fmt(base_p99, 2)} ms ({fmt(idle['p99_factor'], 2)}x)"
                  + ("" if consistent else " (wrk's latencies do not add up; see the warning)")
                  + (f"; server p99 {fmt(idle_server, 2)} ms against {fmt(base_server, 2)} ms "
                     f"({idle_server / base_server:.2f}x)" if idle_server and base_server else "")),
        "pass": idle["p99_factor"] is not None and idle["p99_factor"] <= IDLE_P99_FACTOR and consistent,
    })
    for name, run in (("without", without), ("with", loaded)):
        if run and run["error_count"]:
            idle["errors"].append(f"GET at {clients} connections {name} {label}: service {run['errors']}")
    return idle


def print_report(result):
    meta, rows = result["meta"], result["rows"]
    print()
    print(f"docstore benchmark: {int(meta.get('docs', 0)):,} documents ({meta.get('doc_bytes', '?')} bytes as "
          f"JSON text), {meta.get('duration')} s per run after {meta.get('warmup')} s of warm-up, "
          f"DB_POOL_SIZE={meta.get('pool_size')}, CONNECTION_LIMIT={meta.get('connection_limit', '?')}, "
          f"CONNECTION_TIMEOUT={meta.get('connection_timeout', '?')} s, PostgreSQL {meta.get('pg_version', '?')} "
          f"({meta.get('pg_instance', '?')}), {meta.get('cpus', '?')} CPUs, commit {meta.get('commit', '?')}")
    print(f"load average before: {meta.get('loadavg_before', '?')}, after: {meta.get('loadavg_after', '?')} "
          "(other work on the machine skews every figure)")
    print("service: wrk (latency per request; server p99: the service's own access-log durations, request line "
          "to response sent); ceiling: pgbench -M prepared, same clients, same SQL, p50/p99 "
          f"from --log at sampling rate {meta.get('pg_sampling_rate')}; streamed find: curl, "
          f"{meta.get('stream_repeat')} requests, p99 = slowest")
    print()
    header = ["operation", "conns", "req/s", "p50 ms", "p99 ms", "server p99", "errors", "pgbench tps",
              "pg p50", "pg p99", "ratio", "target"]
    table = [header]
    for row in rows:
        service, pgbench = row["service"] or {}, row["pgbench"] or {}
        checks = row["checks"]
        verdict = "-" if not checks else (
            "PASS" if all(c["pass"] for c in checks)
            else "FAIL (" + ", ".join(c["target"] for c in checks if not c["pass"]) + ")")
        table.append([
            row["label"],
            str(row["connections"]),
            fmt(service.get("rps")),
            fmt(service.get("p50_ms"), 2),
            fmt(service.get("p99_ms"), 2) + ("" if service.get("latency_consistent", True) else " *"),
            fmt(service.get("server_p99_ms"), 2),
            str(service.get("error_count", "-")) if service else "-",
            fmt(pgbench.get("tps")),
            fmt(pgbench.get("p50_ms"), 2),
            fmt(pgbench.get("p99_ms"), 2),
            fmt(row["ratio"], 2),
            verdict,
        ])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        cells = [cell.ljust(widths[i]) if i in (0, len(header) - 1) else cell.rjust(widths[i])
                 for i, cell in enumerate(line)]
        print("| " + " | ".join(cells) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print_anchor_notes(result)
    print("\nCPU per request (µs; 2 CPUs shared by wrk or pgbench, the service and PostgreSQL; anchor rows: "
          "the C server's processes in the service column):")
    header = ["operation", "conns", "service", "PostgreSQL", "busy %", "pgbench run: PostgreSQL", "busy %"]
    table = [header]
    for row in rows:
        service_cpu = (row["service"] or {}).get("cpu") or {}
        pg_cpu = (row["pgbench"] or {}).get("cpu") or {}
        table.append([
            row["label"],
            str(row["connections"]),
            fmt(service_cpu.get("service_us_per_request")),
            fmt(service_cpu.get("postgres_us_per_request")),
            fmt(service_cpu.get("machine_busy_percent"), 0),
            fmt(pg_cpu.get("postgres_us_per_request")),
            fmt(pg_cpu.get("machine_busy_percent"), 0),
        ])
    print_table(table)
    ratio = result["cpu_service_over_cserver"]
    if ratio:
        print(f"\nservice CPU per request / cserver.c CPU per request, GET by id at {ratio['connections']} "
              f"connections: {ratio['service_us']:.1f} / {ratio['cserver_us']:.1f} µs = {ratio['ratio']:.2f}")
    stream = next((row for row in rows if row["operation"] == "stream" and row["service"]), None)
    if stream and stream["service"]["mean_ms"]:
        seconds = stream["service"]["mean_ms"] / 1000
        print(f"\nstreamed find: {int(meta.get('docs', 0)):,} documents, "
              f"{stream['service']['bytes'] / 1e6:.1f} MB in {seconds:.2f} s "
              f"({int(meta.get('docs', 0)) / seconds:,.0f} documents/s)")
    memory = result["memory"]
    print(f"\nservice RSS: idle after load {mib(memory['idle_rss_kib'])}; peak while streaming "
          f"{mib(memory['stream_peak_hwm_kib'])} (VmHWM; highest 50 ms sample "
          f"{mib(memory['stream_max_sampled_rss_kib'])}); after all runs {mib(memory['end_rss_kib'])}, "
          f"peak over all runs {mib(memory['end_hwm_kib'])}")
    ready_ms = result["start_to_ready_ms"]
    print(f"start to ready (spawn to first /readyz 200): {fmt(ready_ms)} ms")
    if result["idle_connections"]:
        print_idle(result["idle_connections"])
    if result.get("change_feed"):
        print_feed(result["change_feed"])
    runs = [(row["label"], row["connections"], row["service"]) for row in rows]
    idle = result["idle_connections"]
    if idle:
        runs += [(f"GET by id {name} idle connections", idle["connections"], idle[key])
                 for name, key in (("without", "without"), ("with", "with"))]
    inconsistent = [(label, clients, run) for label, clients, run in runs
                    if run and not run.get("latency_consistent", True)]
    if inconsistent:
        print("\n* wrk's latencies do not add up for these runs (Little's law: its rate times its mean latency")
        print("  exceeds the connections, wg/wrk issue #438), so their p50/p99 are not the service's; rerun them:")
        for label, clients, run in inconsistent:
            print(f"  {label} at {clients} connections: {run['in_flight']:.1f} requests in flight on {clients}")
    print("\ntargets:")
    for target in result["targets"]:
        print(f"  {'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['value']}")
    if not result["targets"]:
        print("  none for the operations run")
    if result["errors"]:
        print("\nERRORS (runs with failed requests; their figures are not trustworthy):")
        for line in result["errors"]:
            print(f"  {line}")
    print()


def print_anchor_notes(result):
    """Under the table: what the anchor rows are, or why they are missing."""
    meta = result["meta"]
    if meta.get("anchors_skipped"):
        print(f"\nanchor rows skipped: {meta['anchors_skipped']}")
    elif any(row["anchor"] for row in result["rows"]):
        print(f"\nanchor rows: C reference servers from {meta.get('anchors_dir', '?')} (measuring instruments, "
              f"cc -O2), the same wrk script, ids and key as GET by id, on the same table: cserver.c with "
              f"THREADS={meta.get('cserver_threads', '?')}; cpipeline.c as {meta.get('cpipeline_procs', '?')} "
              f"processes on one port (SO_REUSEPORT), PGCONNS={meta.get('cpipeline_pgconns', '?')} each, "
              "and the same with COALESCE=1; ratio: to the GET by id row's pgbench tps at the same connections")
    for line in meta.get("anchors_failed", "").split(";"):
        if line.strip():
            print(f"  not measured: {line.strip()}")


def print_idle(idle):
    """The idle keep-alive connections section."""
    opener = idle["opener"] or {}
    requested = idle["requested"]
    print(f"\n{requested:,} idle keep-alive connections (scripts/bench/idle_connections.py: each sends one GET "
          f"with keep-alive, reads the answer, then stays open and silent), the service started with "
          f"CONNECTION_LIMIT={idle['connection_limit']} and CONNECTION_TIMEOUT={idle['connection_timeout_s']} s:")
    if opener:
        errors = ", ".join(f"{name} {count}" for name, count in sorted(opener.get("errors", {}).items()))
        print(f"  opened {opener.get('opened', 0):,} of {opener.get('requested', requested):,} in "
              f"{opener.get('open_seconds', 0):.1f} s (source addresses: {', '.join(opener.get('sources', []))}); "
              f"{opener.get('answered', 0):,} answered 200 and stayed alive"
              + (f"; errors: {errors}" if errors else ""))
        if "answered_after" in opener:
            print(f"  after {opener.get('held_seconds', 0):.1f} s held: {opener.get('closed_while_idle', 0):,} "
                  f"closed by the service meanwhile, {opener['answered_after']:,} answered a second GET")
    else:
        print("  the opener reported nothing (see the bench log)")
    header = [f"GET by id, {idle['connections']} conns", "req/s", "p50 ms", "p99 ms", "server p99", "errors",
              "service µs/req"]
    table = [header]
    for name, run in (("without idle connections", idle["without"]),
                      (f"with {requested:,} idle open", idle["with"])):
        run = run or {}
        table.append([
            name,
            fmt(run.get("rps")),
            fmt(run.get("p50_ms"), 2),
            fmt(run.get("p99_ms"), 2) + ("" if run.get("latency_consistent", True) else " *"),
            fmt(run.get("server_p99_ms"), 2),
            str(run.get("error_count", "-")) if run else "-",
            fmt((run.get("cpu") or {}).get("service_us_per_request")),
        ])
    print_table(table, indent="  ")
    print(f"  service threads: {fmt(idle['threads_before'])} before, max {fmt(idle['threads_max'])} while open "
          f"({fmt(idle['samples'])} samples of /proc status, every 100 ms, from opening to the end of the run)")
    print(f"  service RSS: {mib(idle['rss_before_kib'])} before, max sampled {mib(idle['rss_max_sampled_kib'])} "
          f"while open; VmHWM {mib(idle['hwm_kib'])}"
          + (" (reset just before opening)" if idle["hwm_reset"] else " (the service's lifetime peak)"))


def report(run_dir, json_file=None):
    result = build(run_dir)
    print_report(result)
    if json_file:
        with open(json_file, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
            handle.write("\n")
    return 3 if result["errors"] else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "ready" and len(argv) == 5:
        return ready(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "cpu":
        return cpu(argv[2], argv[3])
    if len(argv) == 2 and argv[1] == "free-port":
        return free_port()
    if len(argv) in (3, 4) and argv[1] == "report":
        return report(argv[2], argv[3] if len(argv) == 4 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
