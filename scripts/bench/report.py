#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  report.py ready URL START_FILE TIMEOUT_S
      Creates START_FILE.armed, then polls URL (the service's /readyz) every 2 ms until it answers
      200 and prints the milliseconds since the time in START_FILE (ns since the epoch, written by
      bench.sh just before it spawns the service, after the poller is armed).
  report.py free-port
      Prints a free TCP port on 127.0.0.1.
  report.py cpu SERVICE_PID POSTMASTER_PID
      Prints CPU tick counters (service, PostgreSQL, machine busy, machine total) for the per-request
      CPU figures; bench.sh takes one before and one after each run.
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
RATIO_TARGET = 0.40  # GET by id and insert at 32 connections, of pgbench's rate
FIND_IDS_RATIO_TARGET = 0.50  # the find of 10,000 ids, at every client count, of pgbench's rate
P99_TARGET_MS = 10.0  # every operation but the streamed find, at 32 connections
LATENCY_CONSISTENCY_SLACK = 1.1  # wrk's mean latency x rate may exceed the connections by this much
KEYSET_TARGET = 1.5  # last page's mean latency within this factor of the first's
RSS_TARGET_KIB = 64 * 1024  # peak RSS while streaming every document
TARGET_DOCS = 1_000_000  # the keyset and RSS targets are stated at this size


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


def cpu(service_pid, postmaster_pid):
    """Prints `service_ticks postgres_ticks busy_ticks total_ticks`: the service's CPU time, all of
    PostgreSQL's (the postmaster, its live children, and the children it has reaped), and the
    machine's busy and total time from /proc/stat."""
    service, _ = process_ticks(service_pid)
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
            last = line.rsplit(" ", 1)[-1].strip()
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
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def mib(kib):
    return f"{int(kib) / 1024:.1f} MiB" if kib not in (None, "") else "-"


def build(run_dir):
    meta = read_meta(run_dir)
    runs = os.path.join(run_dir, "runs")
    docs = int(meta.get("docs", "0"))
    connections = [int(c) for c in meta.get("connections", "1 32").split()]
    rows = []
    for op, label in OPERATIONS:
        for clients in ([1] if op == "stream" else connections):
            prefix = os.path.join(runs, f"{op}_c{clients}")
            service = read_curl(prefix + ".curl") if op == "stream" else read_wrk(prefix + ".wrk")
            pgbench = read_pgbench(prefix)
            if service is None and pgbench is None:
                continue
            if service:
                service["cpu"] = read_cpu(prefix + ".cpu", service.get("requests"))
                if op != "stream":
                    check_latency_consistency(service, clients)
                    service.update(read_server_latency(os.path.join(run_dir, "service.log"), prefix + ".loglines"))
            if pgbench:
                pgbench["cpu"] = read_cpu(prefix + ".pgcpu", pgbench.get("transactions"))
            ratio = None
            if service and pgbench and pgbench.get("tps"):
                ratio = service["rps"] / pgbench["tps"]
            row = {
                "operation": op,
                "label": label,
                "connections": clients,
                "service": service,
                "pgbench": pgbench,
                "ratio": ratio,
                "checks": [],
            }
            if clients == 32 and op in ("get", "insert"):
                row["checks"].append({
                    "target": f"ratio >= {RATIO_TARGET:.2f}",
                    "pass": ratio is not None and ratio >= RATIO_TARGET,
                })
            if op == "find_ids":
                row["checks"].append({
                    "target": f"ratio >= {FIND_IDS_RATIO_TARGET:.2f}",
                    "pass": ratio is not None and ratio >= FIND_IDS_RATIO_TARGET,
                })
            if clients == 32 and op not in ("stream", "find_ids") and service:
                row["checks"].append({
                    "target": f"p99 < {P99_TARGET_MS:g} ms",
                    "pass": (service.get("p99_ms") is not None and service["p99_ms"] < P99_TARGET_MS
                             and service.get("latency_consistent", True)),
                })
            rows.append(row)

    targets = []
    for row in rows:
        for check in row["checks"]:
            targets.append({
                "target": f"{row['label']} at {row['connections']} connections: {check['target']}",
                "value": (f"ratio {fmt(row['ratio'], 2)}" if check["target"].startswith("ratio")
                          else f"p99 {fmt(row['service']['p99_ms'], 2)} ms"
                          + ("" if row["service"].get("latency_consistent", True)
                             else " (wrk's latencies do not add up; see the warning)")),
                "pass": check["pass"],
            })
    by_key = {(row["operation"], row["connections"]): row for row in rows}
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
        f"{row['label']} at {row['connections']} connections: service {row['service']['errors']}"
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
    return {
        "meta": meta,
        "rows": rows,
        "memory": memory,
        "start_to_ready_ms": float(meta["start_to_ready_ms"]) if meta.get("start_to_ready_ms") else None,
        "targets": targets,
        "errors": errors,
    }


def print_report(result):
    meta, rows = result["meta"], result["rows"]
    print()
    print(f"docstore benchmark: {int(meta.get('docs', 0)):,} documents ({meta.get('doc_bytes', '?')} bytes as "
          f"JSON text), {meta.get('duration')} s per run after {meta.get('warmup')} s of warm-up, "
          f"DB_POOL_SIZE={meta.get('pool_size')}, PostgreSQL {meta.get('pg_version', '?')} "
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
    print("\nCPU per request (µs; 2 CPUs shared by wrk or pgbench, the service and PostgreSQL):")
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
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        print("| " + " | ".join(cells) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
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
    inconsistent = [row for row in rows if row["service"] and not row["service"].get("latency_consistent", True)]
    if inconsistent:
        print("\n* wrk's latencies do not add up for these runs (Little's law: its rate times its mean latency")
        print("  exceeds the connections, wg/wrk issue #438), so their p50/p99 are not the service's; rerun them:")
        for row in inconsistent:
            print(f"  {row['label']} at {row['connections']} connections: "
                  f"{row['service']['in_flight']:.1f} requests in flight on {row['connections']}")
    print("\ntargets:")
    for target in result["targets"]:
        print(f"  {'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['value']}")
    if result["errors"]:
        print("\nERRORS (runs with failed requests; their figures are not trustworthy):")
        for line in result["errors"]:
            print(f"  {line}")
    print()


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
