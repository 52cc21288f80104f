#!/usr/bin/env python3
"""Helpers of tests/bench/api.sh: parse wrk and pgbench output, time a cold
start, take medians, print the result tables and rewrite the sections of
BENCHMARKS.md between <!-- bench:read:start --> and <!-- bench:read:end -->
and between <!-- bench:clusters:start --> and <!-- bench:clusters:end -->, and the services
one between <!-- bench:services:start --> and <!-- bench:services:end -->.

Subcommands (all called by api.sh; none is meant to be called by hand):
  json FILE KEY.PATH            print one value of a JSON file (empty when missing)
  summary wrk|pgbench FILE [SERVER] [--pairs]
                                one line about one run; exit 1 when the run is invalid;
                                --pairs: wrk's requests are creates and deletes (rates
                                and CPU per create+delete pair)
  clusters-script BINARY OUT    write the pgbench script of the clusters comparison, made
                                from the SQL compiled into BINARY (see clusters_script)
  services-script BINARY TEMPLATE OUT
                                the same for the services comparison (see services_script)
  statement BINARY NAME          print the SQL of one statement of READ_STATEMENTS as BINARY
                                prepares it (pg_reads.sh)
  coldstart BINARY RUNS OUTFILE LOGFILE
                                start BINARY serve RUNS times (environment inherited,
                                RUNOS_HTTP_ADDR/RUNOS_AGENT_ADDR chosen here), poll
                                /readyz every 5 ms, write the times in ms as JSON
  cpusnap OUT [NAME=PID ...]    CPU counters now: /proc/stat, and per NAME the process's
                                CPU time (a postmaster: with its children, live or reaped)
  cpudiff BEFORE AFTER TIMES OUT
                                where the CPU went between two snapshots; TIMES is the
                                output of bash's `times` in the subshell that ran the client
  report DIR [--write BENCHMARKS.md]
                                medians, table; exit 1 when a run is invalid; the judged
                                figures also into DIR/summary.json
  overall DIR... [--meta FILE] [--write BENCHMARKS.md]
                                the summary table of tests/bench/run.sh from each DIR's
                                summary.json (api.sh, work.sh, agents.sh --results DIRs)

Only the standard library is used.
"""
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time

TARGET = 0.5
TARGET_PEER = 3.0
TARGET_CLUSTERS = 0.7
TARGET_SERVICES = 0.7
TARGET_COLD_START_MS = 200
OTHER_LOAD_LIMIT = 0.25  # cores used by neither runosd, PostgreSQL nor the client
START = "<!-- bench:read:start -->"
END = "<!-- bench:read:end -->"
CLUSTERS_START = "<!-- bench:clusters:start -->"
CLUSTERS_END = "<!-- bench:clusters:end -->"
SERVICES_START = "<!-- bench:services:start -->"
SERVICES_END = "<!-- bench:services:end -->"

# ---------------------------------------------------------------------------------------------
# parsing



def print_table(header, rows):
    """Prints rows of strings as left-aligned columns, indented by two spaces."""
    widths = [max(len(r[j]) for r in rows + [header]) for j in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    print("  " + fmt % tuple(header))
    for r in rows:
        print("  " + fmt % tuple(r))

def to_ms(value, unit):
    v = float(value)
    return {"us": v / 1000.0, "ms": v, "s": v * 1000.0, "m": v * 60000.0}[unit]


def parse_wrk(path):
    """wrk 4.1 output (with --latency) → dict. valid is False when a response was not
    2xx/3xx, a socket error happened, or nothing was measured."""
    text = open(path, encoding="utf-8", errors="replace").read()
    r = {"file": os.path.basename(path), "rps": None, "requests": 0, "non2xx": 0,
         "socket_errors": 0, "lat_avg_ms": None, "p50_ms": None, "p99_ms": None,
         "problems": []}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"^\s+(\d+) requests in ([\d.]+)(\w+)", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"^\s+Latency\s+([\d.]+)(us|ms|s|m)\s", text, re.M)
    if m:
        r["lat_avg_ms"] = to_ms(m.group(1), m.group(2))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            r[key] = to_ms(m.group(1), m.group(2))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["socket_errors"] = sum(int(x) for x in m.groups())
    # The counts printed by clusters.lua's done().
    c = re.search(r"^clusters\.lua: creates (\d+), deletes (\d+), failed (\d+), shared (\d+), "
                  r"unmatched (\d+)", text, re.M)
    if c:
        r["creates"], r["deletes"], failed, shared, unmatched = (int(x) for x in c.groups())
        if failed:
            r["problems"].append("%d creates or deletes did not answer 201/204" % failed)
        if shared:
            r["problems"].append("%d creates went to an account with a request in flight "
                                 "(fewer accounts than connections?)" % shared)
        if unmatched:
            r["problems"].append("%d responses without the X-Request-Id sent" % unmatched)
    # The counts printed by services.lua's done().
    c = re.search(r"^services\.lua: created (\d+), failed (\d+)", text, re.M)
    if c:
        r["creates"], failed = int(c.group(1)), int(c.group(2))
        if failed:
            r["problems"].append("%d creates did not answer 202" % failed)
    if r["rps"] is None or r["requests"] == 0:
        r["problems"].append("no Requests/sec in the wrk output")
    if r["non2xx"]:
        r["problems"].append("%d responses were not 2xx/3xx" % r["non2xx"])
    if r["socket_errors"]:
        r["problems"].append("%d socket errors (%s)" % (r["socket_errors"], m.group(0)))
    r["valid"] = not r["problems"]
    return r


def parse_pgbench(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    r = {"file": os.path.basename(path), "tps": None, "transactions": 0, "failed": 0,
         "lat_avg_ms": None, "problems": []}
    # PostgreSQL 15: "(without initial connection time)"; before 14:
    # "(excluding connections establishing)".
    m = re.search(r"^tps = ([\d.]+) \((?:without initial connection time|"
                  r"excluding connections establishing)\)", text, re.M)
    if m:
        r["tps"] = float(m.group(1))
    m = re.search(r"^number of transactions actually processed: (\d+)", text, re.M)
    if m:
        r["transactions"] = int(m.group(1))
    m = re.search(r"^number of failed transactions: (\d+)", text, re.M)
    if m:
        r["failed"] = int(m.group(1))
    m = re.search(r"^latency average = ([\d.]+) ms", text, re.M)
    if m:
        r["lat_avg_ms"] = float(m.group(1))
    if r["tps"] is None or r["transactions"] == 0:
        r["problems"].append("no tps in the pgbench output")
    if r["failed"]:
        r["problems"].append("%d failed transactions" % r["failed"])
    if re.search(r"^pgbench: error", text, re.M):
        r["problems"].append("pgbench reported an error")
    r["valid"] = not r["problems"]
    return r


def read_meta(path):
    meta = {}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\n")
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                meta[k] = v
    return meta


# ---------------------------------------------------------------------------------------------
# formatting


def num(v, digits=0):
    if v is None:
        return "n/a"
    return "{:,.{d}f}".format(v, d=digits)


def ms(v):
    if v is None:
        return "n/a"
    return "%.2f" % v if v < 10 else "%.1f" % v


def load_cpu(path):
    cpu_path = re.sub(r"\.txt$", "", path) + ".cpu.json"
    try:
        return json.load(open(cpu_path))
    except (OSError, ValueError):
        return None


def cpu_split(cpu, server, rate):
    """(busy, server, postgres, client, other) in cores, and per-operation µs of the first
    four; None where unknown."""
    if not cpu:
        return None
    busy = cpu.get("busy")
    srv = cpu.get(server) if server else 0.0
    pg = cpu.get("postgres")
    cl = cpu.get("client")
    redis = cpu.get("redis", 0.0)
    parts = [srv, pg, cl, redis]
    other = busy - sum(parts) if busy is not None and None not in parts else None
    per_op = [x * 1e6 / rate if x is not None and rate else None
              for x in (busy, srv, pg, cl, redis)]
    return {"busy": busy, "server": srv, "postgres": pg, "client": cl, "redis": redis,
            "other": other, "us_busy": per_op[0], "us_server": per_op[1],
            "us_postgres": per_op[2], "us_client": per_op[3], "us_redis": per_op[4]}


def cpu_header(per):
    return ["measurement", "busy", "server", "postgres", "redis", "client", "other",
            "µs/%s total" % per, "µs/%s server" % per, "µs/%s postgres" % per,
            "µs/%s redis" % per, "µs/%s client" % per]


def cpu_row(label, splits, server, client):
    """One row of a CPU table (cpu_header): the medians of cpu_split results."""
    splits = [c for c in splits if c]
    if not splits:
        return None
    m = {k: median([c[k] for c in splits]) for k in splits[0]}
    return [label, cores(m["busy"]), cores(m["server"]) if server else "—",
            cores(m["postgres"]), cores(m["redis"]), "%s %s" % (client, cores(m["client"])),
            cores(m["other"]), us(m["us_busy"]), us(m["us_server"]) if server else "—",
            us(m["us_postgres"]), us(m["us_redis"]), us(m["us_client"])]


def load_pgss(path):
    """The pg_stat_statements snapshot api.sh took after a measurement (when the extension is
    loaded): calls|total_exec_time_ms|rows|query per line → totals and rows."""
    pgss_path = re.sub(r"\.txt$", "", path) + ".pgss.txt"
    if not os.path.exists(pgss_path):
        return None
    rows = []
    for line in open(pgss_path, encoding="utf-8", errors="replace"):
        parts = line.rstrip("\n").split("|", 3)
        if len(parts) != 4 or not parts[0].isdigit():
            continue
        rows.append((int(parts[0]), float(parts[1]), int(parts[2]), parts[3]))
    return {"calls": sum(x[0] for x in rows), "exec_ms": sum(x[1] for x in rows), "rows": rows}


def ops_done(r, kind, pairs):
    """Operations a run completed: requests (pairs: half of them) or script runs."""
    n = r.get("requests") if kind == "wrk" else r.get("transactions")
    if not n:
        return None
    return n / 2 if kind == "wrk" and pairs else n


def cores(v):
    return "n/a" if v is None else "%.2f" % v


def us(v):
    return "n/a" if v is None else "%.0f" % v


def summary(kind, path, server=None, pairs=False):
    if kind == "wrk":
        r = parse_wrk(path)
        rate = r["rps"]
        if pairs:
            rate = rate / 2 if rate is not None else None
            line = ("%s create+delete pairs/s (%s req/s), latency per request avg %s ms, p50 %s ms, "
                    "p99 %s ms, %s creates, %s deletes" % (
                        num(rate), num(r["rps"]), ms(r["lat_avg_ms"]), ms(r["p50_ms"]),
                        ms(r["p99_ms"]), num(r.get("creates")), num(r.get("deletes"))))
        else:
            line = "%s req/s, latency avg %s ms, p50 %s ms, p99 %s ms, %s requests" % (
                num(r["rps"]), ms(r["lat_avg_ms"]), ms(r["p50_ms"]), ms(r["p99_ms"]),
                num(r["requests"]))
    else:
        r = parse_pgbench(path)
        rate = r["tps"]
        if pairs:
            line = "%s create+delete pairs/s, latency per pair avg %s ms, %s pairs" % (
                num(r["tps"]), ms(r["lat_avg_ms"]), num(r["transactions"]))
        else:
            line = "%s TPS, latency avg %s ms, %s transactions" % (
                num(r["tps"]), ms(r["lat_avg_ms"]), num(r["transactions"]))
    c = cpu_split(load_cpu(path), server, rate)
    if c:
        name = "node" if server == "peer" else "runosd"
        line += ("\n    CPU, cores: busy %s%s, postgres %s, redis %s, %s %s; µs per %s: %s%s, "
                 "postgres %s, redis %s, %s %s" % (
                     cores(c["busy"]), ", %s %s" % (name, cores(c["server"])) if server else "",
                     cores(c["postgres"]), cores(c["redis"]), kind, cores(c["client"]),
                     "pair" if pairs else "op", us(c["us_busy"]) + " total",
                     ", %s %s" % (name, us(c["us_server"])) if server else "",
                     us(c["us_postgres"]), us(c["us_redis"]), kind, us(c["us_client"])))
    p = load_pgss(path)
    ops = ops_done(r, kind, pairs)
    if p and ops:
        line += "\n    pg_stat_statements: %.1f statements and %s µs of execution per %s" % (
            p["calls"] / ops, us(p["exec_ms"] * 1000 / ops), "pair" if pairs else "op")
    if not r["valid"]:
        line += "  INVALID: " + "; ".join(r["problems"])
    print(line)
    return 0 if r["valid"] else 1


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def render_table(rows, markdown):
    header = ["figure", "runosd", "reference", "ratio", "target", "result"]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out = [fmt % tuple(header), fmt % tuple("-" * w for w in widths)]
    out += [fmt % tuple(row) for row in rows]
    return "\n".join(out)


def report(directory, write_path):
    meta = read_meta(os.path.join(directory, "meta.env"))
    runs = int(meta.get("RUNS", "0"))
    warn = [parse_wrk(os.path.join(directory, "wrk-warn-%d.txt" % i)) for i in range(1, runs + 1)]
    pgb = [parse_pgbench(os.path.join(directory, "pgbench-%d.txt" % i))
           for i in range(1, runs + 1)]
    info = [parse_wrk(os.path.join(directory, "wrk-info-%d.txt" % i))
            for i in range(1, runs + 1)
            if os.path.exists(os.path.join(directory, "wrk-info-%d.txt" % i))]
    peer = [parse_wrk(os.path.join(directory, "wrk-peer-%d.txt" % i))
            for i in range(1, runs + 1)
            if os.path.exists(os.path.join(directory, "wrk-peer-%d.txt" % i))]
    hz_path = os.path.join(directory, "wrk-healthz.txt")
    healthz = parse_wrk(hz_path) if os.path.exists(hz_path) else None
    cold_path = os.path.join(directory, "coldstart.json")
    cold = json.load(open(cold_path)) if os.path.exists(cold_path) else []

    invalid = [x for x in warn + pgb + peer + info + ([healthz] if healthz else [])
               if not x["valid"]]
    main_invalid = any(not x["valid"] for x in warn + pgb)
    api = median([x["rps"] for x in warn if x["valid"]])
    ref = median([x["tps"] for x in pgb if x["valid"]])
    api_info = median([x["rps"] for x in info if x["valid"]])
    rt = ratio(api, ref)
    rt_info = ratio(api_info, ref)
    if main_invalid or rt is None:
        verdict = "INVALID"
    else:
        verdict = "PASS" if rt >= TARGET else "MISS"
    n = runs
    rows = [
        ["GET /:aid/clusters/:cid, PAT, log warn: req/s (median of %d)" % n, num(api),
         "%s TPS (pgbench -S -M prepared)" % num(ref), "%.2f" % rt if rt is not None else "n/a",
         "≥ %.1f" % TARGET, verdict],
    ]
    peer_api = median([x["rps"] for x in peer if x["valid"]])
    rt_peer = ratio(api, peer_api)
    peer_verdict = None
    if peer:
        if main_invalid or rt_peer is None or any(not x["valid"] for x in peer):
            peer_verdict = "INVALID"
        else:
            peer_verdict = "PASS" if rt_peer >= TARGET_PEER else "MISS"
        rows.append(["the same endpoint, runosd against the Fastify peer: req/s (median of %d)"
                     % len(peer), num(api), "%s req/s (%s)" % (num(peer_api), meta.get("PEER", "?")),
                     "%.2f" % rt_peer if rt_peer is not None else "n/a", "≥ %.1f" % TARGET_PEER,
                     peer_verdict])
    if info:
        iv = "INVALID" if any(not x["valid"] for x in info) else "info only"
        lines = int(meta.get("ACCESS_LOG_LINES", "0") or 0)
        per_line = int(meta.get("ACCESS_LOG_BYTES", "0") or 0) / lines if lines else 0
        rows.append(["the same, log info (access log, ~%d B/line, to a file): req/s (median of %d)"
                     % (per_line, len(info)), num(api_info), "%s TPS" % num(ref),
                     "%.2f" % rt_info if rt_info is not None else "n/a", "—", iv])
    if healthz:
        rows.append(["GET /healthz (no auth, no database), log warn: req/s (once)",
                     num(healthz["rps"]), "", "", "—",
                     "INVALID" if not healthz["valid"] else "info only"])
    rows.append(["latency avg, ms (median; log warn)",
                 ms(median([x["lat_avg_ms"] for x in warn])),
                 ms(median([x["lat_avg_ms"] for x in pgb])) + " (pgbench)", "", "—", "info only"])
    rows.append(["latency p50 / p99, ms (median; log warn)",
                 "%s / %s" % (ms(median([x["p50_ms"] for x in warn])),
                              ms(median([x["p99_ms"] for x in warn]))), "", "", "—", "info only"])
    cold_valid = [c for c in cold if c is not None]
    cold_ms = median(cold_valid) if cold_valid else None
    rows.append(["cold start to /readyz 200, ms (median of %d)" % len(cold),
                 ms(cold_ms) if cold_ms is not None else "n/a", "", "",
                 "≤ %d ms" % TARGET_COLD_START_MS,
                 "INVALID" if cold_ms is None or len(cold_valid) < len(cold) else
                 "PASS" if cold_ms <= TARGET_COLD_START_MS else "MISS"])
    rss = meta.get("RSS_WARN_KB")
    hwm = meta.get("HWM_WARN_KB")
    rows.append(["runosd RSS after the benchmark, MiB (peak)",
                 "%.1f (%.1f)" % (int(rss) / 1024, int(hwm) / 1024) if rss and hwm else "n/a",
                 "", "", "—", "info only"])

    per_run_header = ["run", "runosd warn req/s", "pgbench TPS"]
    if peer:
        per_run_header.append("Fastify peer req/s")
    if info:
        per_run_header.append("runosd info req/s")
    per_run = []
    for i in range(runs):
        row = [str(i + 1), num(warn[i]["rps"]) + ("" if warn[i]["valid"] else " (invalid)"),
               num(pgb[i]["tps"]) + ("" if pgb[i]["valid"] else " (invalid)")]
        if peer:
            x = peer[i] if i < len(peer) else None
            row.append(num(x["rps"]) + ("" if x["valid"] else " (invalid)") if x else "n/a")
        if info:
            x = info[i] if i < len(info) else None
            row.append(num(x["rps"]) + ("" if x["valid"] else " (invalid)") if x else "n/a")
        per_run.append(row)

    settings = meta_settings(meta)

    # Where the CPU went: medians per measurement kind.
    def splits(results, server, rate_key):
        return [cpu_split(load_cpu(os.path.join(directory, x["file"])), server, x[rate_key])
                for x in results]
    # Measurements during which something else used a sizeable share of the CPU.
    disturbed = []
    for x, server in [(w, "runosd_warn") for w in warn] + [(p, None) for p in pgb] + \
            [(p, "peer") for p in peer] + [(i, "runosd_info") for i in info]:
        c = cpu_split(load_cpu(os.path.join(directory, x["file"])), server,
                      x.get("rps") or x.get("tps"))
        if c and c["other"] is not None and c["other"] > OTHER_LOAD_LIMIT:
            disturbed.append("%s: %.2f cores went to other processes (or softirq work); "
                             "its figure is unreliable" % (x["file"], c["other"]))
    cpu_cols = cpu_header("op")
    cpu_rows = [r for r in (
        cpu_row("runosd, log warn", splits(warn, "runosd_warn", "rps"), "runosd_warn", "wrk"),
        cpu_row("pgbench -S", splits(pgb, None, "tps"), None, "pgbench"),
        cpu_row("Fastify peer (server: node)", splits(peer, "peer", "rps"), "peer", "wrk"),
        cpu_row("runosd, log info", splits(info, "runosd_info", "rps"), "runosd_info", "wrk"),
        cpu_row("GET /healthz", splits([healthz] if healthz else [], "runosd_warn", "rps"),
                "runosd_warn", "wrk"))
        if r]

    # ---- terminal
    print()
    print("machine:   %s" % meta.get("MACHINE", "?"))
    print("software:  %s" % meta.get("SOFTWARE", "?"))
    print("runosd:    %s" % meta.get("BUILD", "?"))
    print("settings:  %s" % settings)
    print("date:      %s (before the start: %s)" % (meta.get("DATE", "?"),
                                                              meta.get("LOAD_BEFORE", "?")))
    print()
    print(render_table(rows, markdown=False))
    print()
    print("per round (in this order within each round; then the clusters measurements):")
    print_table(per_run_header, per_run)
    print("cold starts, ms: %s" % ", ".join(ms(c) if c is not None else "failed" for c in cold))
    if cpu_rows:
        print()
        print("where the CPU went (cores busy on average over each measurement, and CPU µs per "
              "request or transaction; medians):")
        print_table(cpu_cols, cpu_rows)
    for line in disturbed:
        print("disturbed: " + line)
    for x in invalid:
        print("INVALID run %s: %s" % (x["file"], "; ".join(x["problems"])))
    print()

    if write_path:
        md = [START,
              "## GET /:aid/clusters/:cid vs pgbench -S and a Fastify peer (%s)"
              % meta.get("DATE", "?")[:10],
              "",
              "Written by `%s` on %s." % (meta.get("COMMAND", "tests/bench/api.sh"),
                                          meta.get("DATE", "?")),
              "",
              "- machine: %s" % meta.get("MACHINE", "?"),
              "- software: %s" % meta.get("SOFTWARE", "?"),
              "- runosd: %s" % meta.get("BUILD", "?"),
              "- settings: %s" % settings,
              "- before the start: %s" % meta.get("LOAD_BEFORE", "?"),
              "",
              render_table(rows, markdown=True),
              "",
              "Per round (in this order within each round: runosd at warn, pgbench, "
              "the Fastify peer, runosd at info; then the clusters measurements below):",
              "",
              "| " + " | ".join(per_run_header) + " |",
              "|" + "---|" * len(per_run_header)]
        md += ["| " + " | ".join(r) + " |" for r in per_run]
        md += ["",
               "Cold starts to /readyz 200, ms: %s." % ", ".join(
                   ms(c) if c is not None else "failed" for c in cold)]
        if cpu_rows:
            md += ["",
                   "Where the CPU went (of %s cores; cores busy on average during each "
                   "measurement, and CPU µs per request or transaction; medians; \"other\" is "
                   "the kernel's softirq work and everything else on the machine):"
                   % meta.get("CORES", "?"),
                   "",
                   "| " + " | ".join(cpu_cols) + " |",
                   "|" + "---|" * len(cpu_cols)]
            md += ["| " + " | ".join(r) + " |" for r in cpu_rows]
        if disturbed:
            md.append("")
            for line in disturbed:
                md.append("- disturbed: " + line)
        if invalid:
            md.append("")
            for x in invalid:
                md.append("- INVALID run `%s`: %s" % (x["file"], "; ".join(x["problems"])))
        md.append(END)
        rewrite_section(write_path, "\n".join(md))
        print("wrote the results into %s" % write_path)

    clusters_line, clusters_invalid, clusters_row = report_clusters(directory, meta, write_path)
    services_line, services_invalid, services_row = report_services(directory, meta, write_path)
    write_summary(directory, [rows[0]] + ([rows[1]] if peer else []) +
                  ([clusters_row] if clusters_row else []) +
                  ([services_row] if services_row else []) +
                  [r for r in rows if r[0].startswith("cold start")])
    print("bench: %s ratio %s (runosd %s req/s / pgbench %s TPS, target ≥ %.1f)" % (
        verdict, "%.2f" % rt if rt is not None else "n/a", num(api), num(ref), TARGET))
    if peer:
        print("bench/peer: %s ratio %s (runosd %s req/s / Fastify peer %s req/s, target ≥ %.1f)"
              % (peer_verdict, "%.2f" % rt_peer if rt_peer is not None else "n/a", num(api),
                 num(peer_api), TARGET_PEER))
    if clusters_line:
        print(clusters_line)
    if services_line:
        print(services_line)
    return 1 if invalid or clusters_invalid or services_invalid else 0


def pgss_rows(directory, results, kind, pairs=True):
    """pg_stat_statements over all rounds of one side: (calls per pair, µs per call, µs per
    pair, query) per statement, most expensive first; None without snapshots. pairs=False:
    per request or script run instead."""
    total_ops = 0.0
    agg = {}
    for x in results:
        p = load_pgss(os.path.join(directory, x["file"]))
        ops = ops_done(x, kind, pairs)
        if not p or not ops:
            continue
        total_ops += ops
        for calls, exec_ms, _, query in p["rows"]:
            a = agg.setdefault(query, [0, 0.0])
            a[0] += calls
            a[1] += exec_ms
    if not total_ops:
        return None
    rows = [(c / total_ops, t * 1000 / c if c else 0.0, t * 1000 / total_ops, q)
            for q, (c, t) in agg.items()]
    rows.sort(key=lambda r: -r[2])
    return rows


def short_sql(q, n=90):
    return q if len(q) <= n else q[:n - 1] + "…"


def report_clusters(directory, meta, write_path):
    """The clusters comparison (wrk-clusters-N.txt, pgbench-clusters-N.txt): prints its table,
    rewrites the bench:clusters section; returns (summary line, invalid)."""
    runs = int(meta.get("RUNS", "0"))
    paths = [(os.path.join(directory, "wrk-clusters-%d.txt" % i),
              os.path.join(directory, "pgbench-clusters-%d.txt" % i)) for i in range(1, runs + 1)]
    paths = [(w, p) for w, p in paths if os.path.exists(w) and os.path.exists(p)]
    if not paths:
        return None, False, None
    api = [parse_wrk(w) for w, _ in paths]
    pgb = [parse_pgbench(p) for _, p in paths]
    for x in api:
        x["pairs"] = x["rps"] / 2 if x["rps"] is not None else None
    invalid = [x for x in api + pgb if not x["valid"]]
    pairs_api = median([x["pairs"] for x in api if x["valid"]])
    pairs_ref = median([x["tps"] for x in pgb if x["valid"]])
    rt = ratio(pairs_api, pairs_ref)
    verdict = "INVALID" if invalid or rt is None else (
        "PASS" if rt >= TARGET_CLUSTERS else "MISS")
    n = len(paths)
    conns = meta.get("CONNECTIONS", "32")
    rows = [
        ["POST /:aid/clusters + its DELETE, session token, log warn: create+delete pairs/s "
         "(median of %d)" % n, num(pairs_api),
         "%s pairs/s (pgbench -M prepared, the same SQL)" % num(pairs_ref),
         "%.2f" % rt if rt is not None else "n/a", "≥ %.1f" % TARGET_CLUSTERS, verdict],
        ["the same in requests/s and transactions/s (median)",
         num(median([x["rps"] for x in api if x["valid"]])),
         "%s TPS" % num(2 * pairs_ref if pairs_ref is not None else None), "", "—",
         "info only"],
        ["latency avg, ms: per request (runosd), per pair of transactions (pgbench) (median)",
         ms(median([x["lat_avg_ms"] for x in api])),
         ms(median([x["lat_avg_ms"] for x in pgb])) + " (pgbench)", "", "—", "info only"],
        ["latency p50 / p99 per request, ms (median)",
         "%s / %s" % (ms(median([x["p50_ms"] for x in api])),
                      ms(median([x["p99_ms"] for x in api]))), "", "", "—", "info only"],
    ]
    per_run_header = ["run", "runosd pairs/s", "pgbench pairs/s", "ratio"]
    per_run = []
    for i, (a, b) in enumerate(zip(api, pgb)):
        r = ratio(a["pairs"], b["tps"])
        per_run.append([str(i + 1), num(a["pairs"]) + ("" if a["valid"] else " (invalid)"),
                        num(b["tps"]) + ("" if b["valid"] else " (invalid)"),
                        "%.2f" % r if r is not None else "n/a"])

    def splits(results, server, rates):
        return [cpu_split(load_cpu(os.path.join(directory, x["file"])), server, rate)
                for x, rate in zip(results, rates)]
    cpu_cols = cpu_header("pair")
    cpu_rows = [r for r in (
        cpu_row("runosd, POST + DELETE", splits(api, "runosd_warn", [x["pairs"] for x in api]),
                "runosd_warn", "wrk"),
        cpu_row("pgbench, clusters script", splits(pgb, None, [x["tps"] for x in pgb]), None,
                "pgbench"))
        if r]
    disturbed = []
    for x, server, rate in [(a, "runosd_warn", a["pairs"]) for a in api] + \
            [(b, None, b["tps"]) for b in pgb]:
        c = cpu_split(load_cpu(os.path.join(directory, x["file"])), server, rate)
        if c and c["other"] is not None and c["other"] > OTHER_LOAD_LIMIT:
            disturbed.append("%s: %.2f cores went to other processes (or softirq work); "
                             "its figure is unreliable" % (x["file"], c["other"]))
    pgss = [(label, pgss_rows(directory, res, kind)) for label, res, kind in
            (("runosd", api, "wrk"), ("pgbench", pgb, "pgbench"))]
    pgss = [(label, rows_) for label, rows_ in pgss if rows_]
    # The script is made from the binary's statements, but which of them a create and a delete
    # run is known only from the C code: pg_stat_statements tells when the two sides differ.
    mismatch = None
    if len(pgss) == 2:
        a, b = (sum(r[0] for r in rows_) for _, rows_ in pgss)
        if abs(a - b) > 0.1:
            mismatch = ("runosd ran %.2f statements per pair, the pgbench script %.2f: the script "
                        "no longer does what the server does (CLUSTERS_STATEMENTS and "
                        "clusters_script in tests/bench/benchlib.py)" % (a, b))
            verdict = "INVALID"
    pgss_header = ["side", "calls/pair", "µs/call", "µs/pair", "statement"]
    pgss_table = []
    for label, rows_ in pgss:
        pgss_table.append([label, "%.2f" % sum(r[0] for r in rows_), "",
                           "%.0f" % sum(r[2] for r in rows_), "(all statements)"])
        for r in rows_:
            if r[0] >= 0.01:
                pgss_table.append([label, "%.2f" % r[0], "%.1f" % r[1], "%.1f" % r[2],
                                   short_sql(r[3])])

    # ---- terminal
    print("POST + DELETE /:aid/clusters vs the same SQL in pgbench (one account per wrk "
          "connection / pgbench client, %s of each):" % conns)
    print(render_table(rows, markdown=False))
    print()
    print("per round (runosd, then pgbench, after the read measurements of the round):")
    print_table(per_run_header, per_run)
    if cpu_rows:
        print()
        print("where the CPU went (cores busy on average, and CPU µs per create+delete pair; "
              "medians):")
        print_table(cpu_cols, cpu_rows)
    if pgss_table:
        print()
        print("pg_stat_statements, all rounds (execution time per pair: wall-clock inside "
              "PostgreSQL, waits for a CPU included):")
        for r in pgss_table:
            print("  %-8s %6s %8s %8s  %s" % tuple(r))
    for line in disturbed:
        print("disturbed: " + line)
    for x in invalid:
        print("INVALID run %s: %s" % (x["file"], "; ".join(x["problems"])))
    if mismatch:
        print("INVALID comparison: " + mismatch)
    print()

    if write_path:
        md = [CLUSTERS_START,
              "## POST + DELETE /:aid/clusters vs the same SQL in pgbench (%s)"
              % meta.get("DATE", "?")[:10],
              "",
              textwrap.fill("Written by `%s` on %s, in the same rounds as the read section above (same "
              "machine, software, runosd build and PostgreSQL). runosd: `wrk -t%s -c%s -d%ss "
              "--latency -s tests/bench/clusters.lua` with the session token, %s accounts (one "
              "per connection and a spare per wrk thread), one request in flight per account "
              "(create, then the delete of what it created). "
              "pgbench: `pgbench -n -M prepared -c%s -j%s -T%s -f <script made from the "
              "binary's SQL>`, one account per client. A pair is one create and one delete: "
              "two requests, two transactions."
              % (meta.get("COMMAND", "tests/bench/api.sh"), meta.get("DATE", "?"),
                 meta.get("THREADS_CLIENT", "2"), conns, meta.get("DURATION", "?"),
                 int(conns) + int(meta.get("THREADS_CLIENT", "2")),
                 conns, meta.get("THREADS_CLIENT", "2"), meta.get("DURATION", "?")),
                            width=96, break_on_hyphens=False, break_long_words=False),
              "",
              render_table(rows, markdown=True),
              "",
              "Per round (runosd, then pgbench, after the read measurements of the round):",
              "",
              "| " + " | ".join(per_run_header) + " |",
              "|" + "---|" * len(per_run_header)]
        md += ["| " + " | ".join(r) + " |" for r in per_run]
        if cpu_rows:
            md += ["",
                   "Where the CPU went (of %s cores; cores busy on average, and CPU µs per "
                   "create+delete pair; medians):" % meta.get("CORES", "?"),
                   "",
                   "| " + " | ".join(cpu_cols) + " |",
                   "|" + "---|" * len(cpu_cols)]
            md += ["| " + " | ".join(r) + " |" for r in cpu_rows]
        if pgss_table:
            md += ["",
                   "pg_stat_statements over all rounds (execution time: wall-clock inside "
                   "PostgreSQL, waits for a CPU included; BEGIN and COMMIT sent as prepared "
                   "statements are not counted):",
                   "",
                   "| " + " | ".join(pgss_header) + " |",
                   "|" + "---|" * len(pgss_header)]
            md += ["| " + " | ".join(r[:4] + ["`%s`" % r[4].replace("|", "\\|")]) + " |"
                   for r in pgss_table]
        if disturbed:
            md.append("")
            for line in disturbed:
                md.append("- disturbed: " + line)
        if invalid:
            md.append("")
            for x in invalid:
                md.append("- INVALID run `%s`: %s" % (x["file"], "; ".join(x["problems"])))
        if mismatch:
            md += ["", "- INVALID comparison: " + mismatch]
        md.append(CLUSTERS_END)
        rewrite_section(write_path, "\n".join(md), CLUSTERS_START, CLUSTERS_END)
        print("wrote the clusters results into %s" % write_path)

    line = ("bench: clusters %s ratio %s (runosd %s create+delete pairs/s / pgbench %s pairs/s, "
            "target ≥ %.1f)" % (verdict, "%.2f" % rt if rt is not None else "n/a", num(pairs_api),
                                num(pairs_ref), TARGET_CLUSTERS))
    return line, bool(invalid) or mismatch is not None, rows[0]


def statement_mix(rows):
    """pg_stat_statements rows of one side → {first 32 characters of a statement: calls per
    INSERT INTO services}, without BEGIN, COMMIT and the script's once-per-client read of its
    template; None without an insert."""
    mix = {}
    for calls, _, _, query in rows:
        if query in ("BEGIN", "COMMIT") or query.startswith("SELECT max(si.payload::text)"):
            continue
        mix[query[:32]] = mix.get(query[:32], 0) + calls
    inserts = mix.get("INSERT INTO services (aid, cid, id, type"[:32])
    return {k: v / inserts for k, v in mix.items()} if inserts else None


def report_services(directory, meta, write_path):
    """The services comparison (wrk-services-N.txt, pgbench-services-N.txt): prints its table,
    rewrites the bench:services section; returns (summary line, invalid, summary row)."""
    runs = int(meta.get("RUNS", "0"))
    paths = [(os.path.join(directory, "wrk-services-%d.txt" % i),
              os.path.join(directory, "pgbench-services-%d.txt" % i)) for i in range(1, runs + 1)]
    paths = [(w, p) for w, p in paths if os.path.exists(w) and os.path.exists(p)]
    if not paths:
        return None, False, None
    api = [parse_wrk(w) for w, _ in paths]
    pgb = [parse_pgbench(p) for _, p in paths]
    invalid = [x for x in api + pgb if not x["valid"]]
    rate_api = median([x["rps"] for x in api if x["valid"]])
    rate_ref = median([x["tps"] for x in pgb if x["valid"]])
    rt = ratio(rate_api, rate_ref)
    verdict = "INVALID" if invalid or rt is None else (
        "PASS" if rt >= TARGET_SERVICES else "MISS")
    n = len(paths)
    conns = meta.get("CONNECTIONS", "32")
    rows = [
        ["POST /:aid/:cid/services/valkey (with its job), session token, log warn: creates/s "
         "(median of %d)" % n, num(rate_api),
         "%s creates/s (pgbench -M prepared, the same SQL)" % num(rate_ref),
         "%.2f" % rt if rt is not None else "n/a", "≥ %.1f" % TARGET_SERVICES, verdict],
        ["latency avg, ms: per request (runosd), per script run (pgbench) (median)",
         ms(median([x["lat_avg_ms"] for x in api])),
         ms(median([x["lat_avg_ms"] for x in pgb])) + " (pgbench)", "", "—", "info only"],
        ["latency p50 / p99 per request, ms (median)",
         "%s / %s" % (ms(median([x["p50_ms"] for x in api])),
                      ms(median([x["p99_ms"] for x in api]))), "", "", "—", "info only"],
    ]
    per_run_header = ["run", "runosd creates/s", "pgbench creates/s", "ratio"]
    per_run = []
    for i, (a, b) in enumerate(zip(api, pgb)):
        r = ratio(a["rps"], b["tps"])
        per_run.append([str(i + 1), num(a["rps"]) + ("" if a["valid"] else " (invalid)"),
                        num(b["tps"]) + ("" if b["valid"] else " (invalid)"),
                        "%.2f" % r if r is not None else "n/a"])

    def splits(results, server, rates):
        return [cpu_split(load_cpu(os.path.join(directory, x["file"])), server, rate)
                for x, rate in zip(results, rates)]
    cpu_cols = cpu_header("create")
    cpu_rows = [r for r in (
        cpu_row("runosd, POST", splits(api, "runosd_warn", [x["rps"] for x in api]),
                "runosd_warn", "wrk"),
        cpu_row("pgbench, services script", splits(pgb, None, [x["tps"] for x in pgb]), None,
                "pgbench"))
        if r]
    pgss = [(label, pgss_rows(directory, res, kind, pairs=False)) for label, res, kind in
            (("runosd", api, "wrk"), ("pgbench", pgb, "pgbench"))]
    pgss = [(label, rows_) for label, rows_ in pgss if rows_]
    # As for the clusters: which statements a create runs is known only from the C code, so
    # pg_stat_statements must find the same statements, as often per service inserted, on
    # both sides. Per inserted service, not per request: the requests still in flight when wrk
    # stops ran their statements but are not counted, a few per cent of a short run.
    mismatch = None
    if len(pgss) == 2:
        mixes = [statement_mix(rows_) for _, rows_ in pgss]
        if None in mixes:
            mismatch = "no INSERT INTO services in pg_stat_statements"
        else:
            a, b = mixes
            differ = ["%s… %.2f vs %.2f" % (k, a.get(k, 0), b.get(k, 0))
                      for k in sorted(set(a) | set(b))
                      if max(a.get(k, 0), b.get(k, 0)) >= 0.5
                      and abs(a.get(k, 0) - b.get(k, 0)) > 0.05]
            if differ:
                mismatch = ("statements per service inserted differ (runosd vs pgbench): %s: the "
                            "script no longer does what the server does (SERVICES_STATEMENTS and "
                            "services_script in tests/bench/benchlib.py)" % "; ".join(differ))
        if mismatch:
            verdict = "INVALID"
            rows[0][5] = verdict
    pgss_table = []
    for label, rows_ in pgss:
        pgss_table.append([label, "%.2f" % sum(r[0] for r in rows_), "",
                           "%.0f" % sum(r[2] for r in rows_), "(all statements)"])
        pgss_table += [[label, "%.2f" % r[0], "%.1f" % r[1], "%.1f" % r[2], short_sql(r[3])]
                       for r in rows_ if r[0] >= 0.01]

    print("POST /:aid/:cid/services/valkey vs the same SQL in pgbench (one cluster, %s "
          "connections / clients):" % conns)
    print(render_table(rows, markdown=False))
    print()
    print("per round (runosd, then pgbench, after the clusters measurements of the round):")
    print_table(per_run_header, per_run)
    if cpu_rows:
        print()
        print("where the CPU went (cores busy on average, and CPU µs per create; medians):")
        print_table(cpu_cols, cpu_rows)
    if pgss_table:
        print()
        print("pg_stat_statements, all rounds (per create):")
        for r in pgss_table:
            print("  %-8s %6s %8s %8s  %s" % tuple(r))
    for x in invalid:
        print("INVALID run %s: %s" % (x["file"], "; ".join(x["problems"])))
    if mismatch:
        print("INVALID comparison: " + mismatch)
    print()

    if write_path:
        md = [SERVICES_START,
              "## POST /:aid/:cid/services/:type vs the same SQL in pgbench (%s)"
              % meta.get("DATE", "?")[:10],
              "",
              textwrap.fill(
                  "Written by `%s` on %s, in the same rounds as the sections above. runosd: "
                  "`wrk -t%s -c%s -d%ss --latency -s tests/bench/services.lua` with the session "
                  "token: each request creates a Valkey service (a name of its own) in one "
                  "cluster, which a control-plane node made in SQL keeps active; each answers "
                  "202 after one transaction wrote the service, its service.create job and "
                  "steps, the rendered Kubernetes objects and chart, the audit entry, and queued "
                  "the first step's instructions to that node. pgbench: `pgbench -n -M prepared "
                  "-c%s -j%s -T%s -f <script made from the binary's SQL>`, the same statements "
                  "with the payloads runosd rendered for a template service. runosd also "
                  "publishes the step's wake-up to Redis after the commit, which pgbench cannot."
                  % (meta.get("COMMAND", "tests/bench/api.sh"), meta.get("DATE", "?"),
                     meta.get("THREADS_CLIENT", "2"), conns, meta.get("DURATION", "?"),
                     conns, meta.get("THREADS_CLIENT", "2"), meta.get("DURATION", "?")),
                  width=96, break_on_hyphens=False, break_long_words=False),
              "",
              render_table(rows, markdown=True),
              "",
              "| " + " | ".join(per_run_header) + " |",
              "|" + "---|" * len(per_run_header)]
        md += ["| " + " | ".join(r) + " |" for r in per_run]
        if cpu_rows:
            md += ["", "| " + " | ".join(cpu_cols) + " |", "|" + "---|" * len(cpu_cols)]
            md += ["| " + " | ".join(r) + " |" for r in cpu_rows]
        for x in invalid:
            md.append("- INVALID run `%s`: %s" % (x["file"], "; ".join(x["problems"])))
        if mismatch:
            md += ["", "- INVALID comparison: " + mismatch]
        md.append(SERVICES_END)
        rewrite_section(write_path, "\n".join(md), SERVICES_START, SERVICES_END)
        print("wrote the services results into %s" % write_path)

    line = ("bench: services %s ratio %s (runosd %s creates/s / pgbench %s creates/s, "
            "target ≥ %.1f)" % (verdict, "%.2f" % rt if rt is not None else "n/a",
                                num(rate_api), num(rate_ref), TARGET_SERVICES))
    return line, bool(invalid) or mismatch is not None, rows[0]


# ---------------------------------------------------------------------------------------------
# the summary of every benchmark (tests/bench/run.sh)

SUMMARY_START = "<!-- bench:summary:start -->"
SUMMARY_END = "<!-- bench:summary:end -->"
SUMMARY_HEADER = ["figure", "runosd", "reference", "ratio", "target", "result"]


def write_summary(directory, rows):
    """Keeps a benchmark's judged figures (SUMMARY_HEADER columns) in DIR/summary.json, for
    the summary table of tests/bench/run.sh."""
    with open(os.path.join(directory, "summary.json"), "w", encoding="utf-8") as f:
        json.dump([dict(zip(SUMMARY_HEADER, r)) for r in rows], f, indent=1)


def overall(directories, write_path, meta_path):
    """The summary table of the benchmarks whose results are in DIRECTORIES (api, work,
    agents: each a --results directory holding summary.json); a benchmark that left none is a
    row marked INVALID. Exit 1 when a row is INVALID (a figure not measured, such as the
    graphile-worker ratio of a smoke run, is not)."""
    meta = read_meta(meta_path) if meta_path else {}
    rows, bad = [], []
    for d in directories:
        path = os.path.join(d, "summary.json")
        if not os.path.exists(path):
            rows.append(["%s: no result (the script failed; see its output above)"
                         % os.path.basename(d.rstrip("/")), "", "", "", "", "INVALID"])
            bad.append(os.path.basename(d.rstrip("/")))
            continue
        for r in json.load(open(path, encoding="utf-8")):
            rows.append([r[k] for k in SUMMARY_HEADER])
            if r["result"] == "INVALID":
                bad.append(r["figure"])
    print()
    print(render_table(rows, markdown=False))
    verdicts = [r[5] for r in rows]
    line = "bench/all: %d PASS, %d MISS, %d other (INVALID or not measured)" % (
        verdicts.count("PASS"), verdicts.count("MISS"),
        len(verdicts) - verdicts.count("PASS") - verdicts.count("MISS"))
    print()
    print(line)
    if write_path:
        md = [SUMMARY_START,
              "## Summary: every benchmark in one run (%s)" % meta.get("DATE", "?")[:10],
              "",
              "Written by `%s` on %s (%s). Each figure's own section below says how it is "
              "measured and holds the per-round figures and where the CPU went." % (
                  meta.get("COMMAND", "tests/bench/run.sh"), meta.get("DATE", "?"),
                  meta.get("DURATION_TOTAL", "?")),
              "",
              "- machine: %s" % meta.get("MACHINE", "?"),
              "- runosd: %s" % meta.get("BUILD", "?"),
              "",
              render_table(rows, markdown=True),
              "",
              line.replace("bench/all: ", "Result: ") + ".",
              SUMMARY_END]
        rewrite_section(write_path, "\n".join(md), SUMMARY_START, SUMMARY_END)
        print("wrote the summary into %s" % write_path)
    return 1 if bad else 0


def meta_settings(meta):
    return ("wrk -t2 -c%s -d%ss; pgbench -S -M prepared -c%s -j2 -T%s (scale %s); "
            "%s round(s), medians; RUNOS_THREADS=%s, RUNOS_DB_POOL=%s; PostgreSQL: %s; "
            "Redis: %s" % (
                meta.get("CONNECTIONS", "32"), meta.get("DURATION", "?"),
                meta.get("CONNECTIONS", "32"), meta.get("DURATION", "?"),
                meta.get("SCALE", "?"), meta.get("RUNS", "?"), meta.get("THREADS", "?"),
                meta.get("DB_POOL", "?"), meta.get("PG", "?"), meta.get("REDIS", "none")))


# The head of a BENCHMARKS.md written from nothing; the real one says how each figure is measured.
INTRO = """# Benchmarks

Figures measured by `tests/bench/run.sh` (also `scripts/dev.sh bench`).
"""


def rewrite_section(path, section, start=START, end=END):
    if os.path.exists(path):
        text = open(path, encoding="utf-8").read()
    else:
        text = INTRO
    s = text.find(start)
    e = text.find(end)
    if s != -1 and e != -1 and e > s:
        text = text[:s] + section + text[e + len(end):]
    else:
        if not text.endswith("\n"):
            text += "\n"
        text += "\n" + section + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# pgbench script of the clusters comparison

# The statements of a cluster create and delete (server/db/clusters_store.c and audit_store.c),
# found in the binary under test as the string literals libpq prepares, so the reference runs
# exactly the SQL of that build. Each pattern must match one statement; "$n" are the server's
# parameters, replaced below by pgbench variables (parameters again under -M prepared) or by
# SQL for what runosd computes in C. When a pattern stops matching, the server's SQL changed in
# a way these rules do not cover: update them together with the description in BENCHMARKS.md.
CLUSTERS_STATEMENTS = [
    ("lock account", r"SELECT [^$]*\bbase_domain\b[^$]* FROM accounts WHERE aid = \$1 "
                     r"FOR NO KEY UPDATE"),
    ("clusters in use", r"SELECT [^$()]* FROM clusters WHERE aid = \$1"),
    ("insert cluster", r"INSERT INTO clusters \(aid, cid, name, description, cluster_index, "
                       r"domain\) VALUES \(\$1, \$2, \$3, \$4, \$5, \$6\)(?: RETURNING .*)?"),
    ("audit insert", r"INSERT INTO audit_events \(aid, actor_type, actor_id, action, target_type, "
                     r"target_id, trace_id, ip\) VALUES \(\$1, \$2, \$3, \$4, \$5, \$6, \$7, \$8\)"),
    ("lock for delete", r"SELECT c\.version, .* FROM clusters c WHERE c\.aid = \$1 "
                        r"AND c\.cid = \$2 FOR UPDATE OF c"),
    ("delete cluster", r"DELETE FROM clusters WHERE aid = \$1 AND cid = \$2"),
]
# runosd picks the smallest free index in C from the rows of "clusters in use"
# (idalloc_cluster_index: 0-255 without 200-207); here SQL picks it inside the INSERT.
SMALLEST_FREE_INDEX = ("(SELECT g.i FROM generate_series(0, 255) AS g(i)"
                       " WHERE g.i NOT BETWEEN 200 AND 207 AND NOT EXISTS"
                       " (SELECT FROM clusters u WHERE u.aid = :aid AND u.cluster_index = g.i)"
                       " LIMIT 1)")


# The read of tests/bench/pg_reads.sh: clusters_get of server/db/clusters_store.c.
READ_STATEMENTS = [
    ("clusters_get", r"SELECT cid, name, .* FROM clusters WHERE aid = \$1 AND cid = \$2"),
]


def binary_statements(binary, patterns):
    """{name: SQL} of the string literals of BINARY matching each (name, pattern), one each."""
    data = open(binary, "rb").read()
    pieces = set(p.decode("utf-8", "replace") for p in data.split(b"\0") if 20 <= len(p) < 8192)
    found = {}
    for name, pattern in patterns:
        hits = sorted(p for p in pieces if re.fullmatch(pattern, p, re.S))
        if len(hits) != 1:
            raise SystemExit("benchlib: %d statements of %s match the pattern of \"%s\" (%s); the "
                             "server's SQL changed: update the patterns in %s"
                             % (len(hits), binary, name, pattern, __file__))
        found[name] = hits[0]
    return found


def clusters_statements(binary):
    return binary_statements(binary, CLUSTERS_STATEMENTS)


def bind(sql, params):
    def repl(m):
        n = int(m.group(1))
        if n not in params:
            raise SystemExit("benchlib: no pgbench value for $%d of: %s" % (n, sql))
        return params[n]
    return re.sub(r"\$(\d+)", repl, sql)


def clusters_script(binary, out_path):
    st = clusters_statements(binary)
    audit = lambda action: bind(st["audit insert"], {
        1: ":aid", 2: ":actor_type", 3: ":actor_id", 4: action, 5: ":target_type", 6: ":cid",
        7: ":trace_id", 8: ":ip"})
    lines = [
        "-- Generated by tests/bench/benchlib.py clusters-script from the SQL in",
        "-- %s: one cluster create and one delete, each in its own" % binary,
        "-- transaction, statement by statement as runosd sends them (pgbench -M prepared:",
        "-- every :variable is a parameter). Variables from pgbench -D: aids (one account per",
        "-- client, comma-separated), cid, name, actor_type, actor_id, action_create,",
        "-- action_delete, target_type, trace_id, ip, ready=0.",
        "-- The client's account and the empty description (-D cannot set an empty value),",
        "-- once per client (in its first script run):",
        "\\if :ready = 0",
        "SELECT split_part(:aids, ',', :client_id::int + 1) AS aid, '' AS description \\gset",
        "\\set ready 1",
        "\\endif",
        "-- create (db_clusters_create)",
        "BEGIN;",
        bind(st["lock account"], {1: ":aid"}) + " \\gset",
        bind(st["clusters in use"], {1: ":aid"}) + ";",
        bind(st["insert cluster"], {
            1: ":aid", 2: ":cid", 3: ":name", 4: ":description", 5: SMALLEST_FREE_INDEX,
            6: "(:cid::text || '.' || :aid::text || '.' || :base_domain::text)"}) + ";",
        audit(":action_create") + ";",
        "COMMIT;",
        "-- delete (db_clusters_delete, no If-Match; the cluster has no nodes)",
        "BEGIN;",
        bind(st["lock for delete"], {1: ":aid", 2: ":cid"}) + ";",
        bind(st["delete cluster"], {1: ":aid", 2: ":cid"}) + ";",
        audit(":action_delete") + ";",
        "COMMIT;",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return 0


# pgbench script of the services comparison

# The statements of a service create (server/api/common.c api_load_cluster, then the one
# transaction of server/db/services_store.c db_services_create with job_steps_store.c's
# db_job_insert_rendered and db_job_advance, and audit_store.c), as the binary holds them.
SERVICES_STATEMENTS = [
    ("load cluster", READ_STATEMENTS[0][1]),
    ("lock cluster", r"SELECT status FROM clusters WHERE aid = \$1 AND cid = \$2 FOR SHARE"),
    ("insert service", r"INSERT INTO services \(aid, cid, id, type, name, version, replicas, "
                       r"storage_mb, storage_class, flags, node_affinity_tags, credentials, "
                       r"job_id\) VALUES .* RETURNING id"),
    ("insert job", r"INSERT INTO jobs \(id, aid, cid, type, target_type, target_id, created_by\)"
                   r" VALUES \(\$1, \$2, \$3, \$4, \$5, \$6, \$7\)"),
    ("insert step", r"INSERT INTO job_steps \(id, job_id, aid, step_number, name\) VALUES .*"),
    ("insert rendered", r"INSERT INTO step_instructions \(step_id, ord, type, payload, "
                        r"sealed_payload\) SELECT .*"),
    ("audit insert", CLUSTERS_STATEMENTS[3][1]),
    ("lock job", r"SELECT type, status, aid, coalesce\(cid, ''\), target_id FROM jobs "
                 r"WHERE id = \$1 FOR UPDATE"),
    ("current step", r"SELECT s\.id, s\.step_number, s\.status, .* ORDER BY s\.step_number "
                     r"LIMIT 1"),
    ("start step", r"WITH step AS \(UPDATE job_steps SET status = 'running'.*"),
    # the services' plan; the apps' rollout (its payload a CASE) is another
    ("plan rendered", r"INSERT INTO instructions \(tag, aid, nid, job_id, step_id, type, "
                      r"payload, sealed_payload\) SELECT gen_random_uuid\(\), n\.aid, n\.nid, "
                      r"\$3, \$4, si\.type, si\.payload, si\.sealed_payload FROM step_instructions "
                      r"si, \(SELECT .*"),
    ("step keys", r"WITH counted AS \(UPDATE job_steps SET open_instructions = \$2::int "
                  r"WHERE id = \$1\) SELECT string_agg\(.*"),
    ("get service", r"SELECT s\.id, s\.type, s\.osid, .* FROM services s "
                    r"WHERE s\.aid = \$1 AND s\.cid = \$2 AND s\.id = \$3"),
]
# The steps of a service.create job (plans[] in server/db/job_steps_store.c).
SERVICE_CREATE_STEPS = ["namespace", "chart", "storage-class", "installed"]
# runosd draws a service's id and its job's id in C (idalloc); here they come from the client's
# counter n (pgbench's client_id × 100000 + its transactions), unique across clients: the id in
# base 36 with letters first and last (the services.id CHECK), the job id an md5 made a UUID.
_LETTERS = "'abcdefghijklmnopqrstuvwxyz'"
_DIGITS = "'0123456789abcdefghijklmnopqrstuvwxyz'"
SERVICE_ID = "(" + " || ".join(
    "substr(%s, (:n::int / %d %% %d) + 1, 1)" % (alphabet, div, mod) for alphabet, div, mod in (
        (_LETTERS, 26 * 36 ** 3, 26), (_DIGITS, 26 * 36 ** 2, 36), (_DIGITS, 26 * 36, 36),
        (_DIGITS, 26, 36), (_LETTERS, 1, 26))) + ")"
SERVICE_JOB_ID = "(md5(:salt::text || '-' || :n::text)::uuid)"
SERVICE_NAME = "('bench-' || :salt::text || '-' || :n::text)"


def services_script(binary, template_path, out_path):
    """TEMPLATE: the step_instructions of one service.create runosd made (lines
    "step|ord|type|sealed", sealed 1 when it has a sealed payload); the script renders the
    same instructions, their payloads read once per client from that job's rows."""
    st = binary_statements(binary, SERVICES_STATEMENTS)
    rendered = []
    for line in open(template_path, encoding="utf-8"):
        if line.strip():
            step, ord_, type_, sealed = line.strip().split("|")
            rendered.append((int(step), int(ord_), type_, sealed == "1"))
    if not rendered:
        raise SystemExit("benchlib: no rendered instructions in %s" % template_path)
    gset = ", ".join(
        ["max(si.payload::text) FILTER (WHERE si.ord = %d) AS p%d" % (o, o)
         for _, o, _, _ in rendered] +
        ["max(si.sealed_payload) FILTER (WHERE si.ord = %d) AS s%d" % (o, o)
         for _, o, _, sealed in rendered if sealed])
    sid = SERVICE_ID
    job = SERVICE_JOB_ID
    lines = [
        "-- Generated by tests/bench/benchlib.py services-script from the SQL in",
        "-- %s: one POST /:aid/:cid/services/:type, statement by statement as" % binary,
        "-- runosd sends them (pgbench -M prepared: every :variable is a parameter): the",
        "-- cluster's read, then one transaction with the service, its service.create job,",
        "-- its steps, the rendered instructions, the audit entry and the job's first step",
        "-- queued to the cluster's online control-plane node. Variables from pgbench -D: aid,",
        "-- cid, type, version, replicas, storage_mb, storage_class, flags, tags, actor_type,",
        "-- actor_id, action, target_type, trace_id, ip, salt, template_job, template_id,",
        "-- ready=0. Once per client: the payloads and sealed credentials of the service",
        "-- runosd created for the template (the same sizes as every create's).",
        "\\if :ready = 0",
        "SELECT %s, (SELECT credentials FROM services WHERE aid = :aid AND cid = :cid"
        " AND id = :template_id)"
        " AS credentials FROM step_instructions si JOIN job_steps s ON s.id = si.step_id"
        " WHERE s.job_id = :template_job::uuid \\gset" % gset,
        "\\set k 0",
        "\\set ready 1",
        "\\endif",
        "\\set k :k + 1",
        "\\set n :client_id * 100000 + :k",
        "-- api_load_cluster",
        bind(st["load cluster"], {1: ":aid", 2: ":cid"}) + ";",
        "-- db_services_create",
        "BEGIN;",
        bind(st["lock cluster"], {1: ":aid", 2: ":cid"}) + ";",
        bind(st["insert service"], {
            1: ":aid", 2: ":cid", 3: sid, 4: ":type", 5: SERVICE_NAME, 6: ":version",
            7: ":replicas", 8: ":storage_mb", 9: ":storage_class", 10: ":flags", 11: ":tags",
            12: ":credentials", 13: job}) + ";",
        bind(st["insert job"], {1: job, 2: ":aid", 3: ":cid", 4: "'service.create'",
                                5: "'service'", 6: sid, 7: ":actor_id"}) + ";",
    ]
    for number, name in enumerate(SERVICE_CREATE_STEPS, 1):
        lines.append(bind(st["insert step"], {1: job, 2: ":aid", 3: str(number),
                                              4: "'%s'" % name}) + ";")
    for step, o, type_, sealed in rendered:
        lines.append(bind(st["insert rendered"], {
            1: job, 2: str(step), 3: str(o), 4: "'%s'" % type_, 5: ":p%d" % o,
            6: ":s%d" % o if sealed else "NULL"}) + ";")
    lines += [
        bind(st["audit insert"], {1: ":aid", 2: ":actor_type", 3: ":actor_id", 4: ":action",
                                  5: ":target_type", 6: sid, 7: ":trace_id", 8: ":ip"}) + ";",
        "-- db_job_advance: the first step starts and queues its instructions",
        bind(st["lock job"], {1: job}) + ";",
        bind(st["current step"], {1: job}) + " \\gset cs_",
        bind(st["start step"], {1: job, 2: ":cs_id"}) + ";",
        bind(st["plan rendered"], {1: ":aid", 2: ":cid", 3: job, 4: ":cs_id", 5: sid}) + ";",
        # the count of queued instructions: what plan rendered inserted for this step
        bind(st["step keys"], {1: ":cs_id", 2: str(sum(1 for r in rendered if r[0] == 1))}) +
        ";",
        bind(st["get service"], {1: ":aid", 2: ":cid", 3: sid}) + ";",
        "COMMIT;",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# CPU accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_ticks(pid, with_children):
    """utime+stime (+cutime+cstime) of pid in ticks; None when it is gone."""
    try:
        raw = open("/proc/%d/stat" % pid).read()
    except OSError:
        return None
    f = raw[raw.rindex(")") + 2:].split()
    # f[0] is field 3 (state): utime is field 14 → f[11]
    t = int(f[11]) + int(f[12])
    if with_children:
        t += int(f[13]) + int(f[14])
    return t


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def proc_status(pid, field):
    """A numeric field of /proc/PID/status (VmRSS, VmHWM in kB; Threads); None when absent."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def postmaster_ticks(pid):
    """A postmaster's CPU ticks: its own, its reaped children's (backends of clients that
    disconnected) and its live children's (pooled backends); None when it is gone."""
    t = proc_ticks(pid, True)
    if t is not None:
        t += sum(proc_ticks(c, True) or 0 for c in children_of(pid))
    return t


def cpusnap(out_path, specs):
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    snap = {"t": time.monotonic(), "total": sum(v[:8]), "idle": v[3] + v[4], "procs": {}}
    for spec in specs:
        name, pid = spec.split("=", 1)
        pid = int(pid)
        if name == "postgres":
            t = postmaster_ticks(pid)
        else:
            t = proc_ticks(pid, False)
        snap["procs"][name] = t
    with open(out_path, "w") as f:
        json.dump(snap, f)
    return 0


def parse_times(path):
    """Children's user+system seconds from bash's `times` output (second line)."""
    try:
        lines = open(path).read().split("\n")
        total = 0.0
        for part in lines[1].split():
            m = re.match(r"(\d+)m([\d.]+)s", part)
            total += int(m.group(1)) * 60 + float(m.group(2))
        return total
    except Exception:
        return None


def cpudiff(before_path, after_path, times_path, out_path):
    a = json.load(open(before_path))
    b = json.load(open(after_path))
    wall = b["t"] - a["t"]
    ticks = b["total"] - a["total"]
    busy = ticks - (b["idle"] - a["idle"])
    ncpu = os.cpu_count() or 1
    out = {"wall_s": wall, "cores": ncpu,
           "busy": busy / ticks * ncpu if ticks else None,   # cores busy on average
           "client": None}
    client_s = parse_times(times_path)
    if client_s is not None and wall > 0:
        out["client"] = client_s / wall
    for name in a["procs"]:
        x, y = a["procs"].get(name), b["procs"].get(name)
        out[name] = (y - x) / CLK_TCK / wall if x is not None and y is not None and wall else None
    with open(out_path, "w") as f:
        json.dump(out, f)
    return 0


# ---------------------------------------------------------------------------------------------
# cold start


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(port):
    """Status of GET /readyz, or None when nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
            return int(m.group(1)) if m else None
    except OSError:
        return None


def coldstart(binary, runs, out_path, log_path):
    times = []
    for _ in range(runs):
        env = os.environ.copy()
        port = free_port()
        agent_port = free_port()
        while agent_port == port:
            agent_port = free_port()
        env["RUNOS_HTTP_ADDR"] = "127.0.0.1:%d" % port
        env["RUNOS_AGENT_ADDR"] = "127.0.0.1:%d" % agent_port
        with open(log_path, "ab") as log:
            t0 = time.monotonic()
            p = subprocess.Popen([binary, "serve"], env=env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
            took = None
            while time.monotonic() - t0 < 30:
                if p.poll() is not None:
                    break
                if probe(port) == 200:
                    took = (time.monotonic() - t0) * 1000.0
                    break
                time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        times.append(took)
        if took is None:
            print("cold start: no 200 from /readyz within 30 s (exit %s), see %s"
                  % (p.returncode, log_path), file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump(times, f)
    return 0 if all(t is not None for t in times) else 1


# ---------------------------------------------------------------------------------------------


def json_value(path, dotted):
    try:
        d = json.load(open(path))
        for k in dotted.split("."):
            d = d[int(k)] if isinstance(d, list) else d[k]
        print(d if not isinstance(d, (dict, list)) else json.dumps(d))
    except Exception:
        pass
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "json":
        return json_value(argv[1], argv[2])
    if 3 <= len(argv) <= 5 and argv[0] == "summary" and argv[1] in ("wrk", "pgbench"):
        rest = [x for x in argv[3:] if x != "--pairs"]
        return summary(argv[1], argv[2], rest[0] if rest and rest[0] else None,
                       "--pairs" in argv[3:])
    if len(argv) == 3 and argv[0] == "clusters-script":
        return clusters_script(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "services-script":
        return services_script(argv[1], argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "statement":
        print(binary_statements(argv[1], [x for x in READ_STATEMENTS if x[0] == argv[2]])[argv[2]])
        return 0
    if len(argv) == 5 and argv[0] == "coldstart":
        return coldstart(argv[1], int(argv[2]), argv[3], argv[4])
    if len(argv) >= 2 and argv[0] == "cpusnap":
        return cpusnap(argv[1], argv[2:])
    if len(argv) == 5 and argv[0] == "cpudiff":
        return cpudiff(*argv[1:])
    if len(argv) >= 2 and argv[0] == "overall":
        args, write, meta = argv[1:], None, None
        if "--write" in args:
            i = args.index("--write")
            write = args[i + 1]
            args = args[:i] + args[i + 2:]
        if "--meta" in args:
            i = args.index("--meta")
            meta = args[i + 1]
            args = args[:i] + args[i + 2:]
        return overall(args, write, meta)
    if argv and argv[0] == "report" and len(argv) in (2, 4):
        write = argv[3] if len(argv) == 4 and argv[2] == "--write" else None
        return report(argv[1], write)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
