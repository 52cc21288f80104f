#!/usr/bin/env python3
"""Helpers of tests/bench/work.sh (the work-queue benchmark): read a process's CPU ticks and
/proc status fields, print one-line summaries of each part, and print the table and verdicts,
rewriting the section of BENCHMARKS.md between <!-- bench:work:start --> and
<!-- bench:work:end -->.

Subcommands (called by work.sh; report can be run by hand on a --results directory):
  ticks PID                 utime + stime of PID (clock ticks)
  tree-ticks PID            the same for PID and its children, live and reaped
  status PID FIELD          a field of /proc/PID/status as a number (VmRSS, VmHWM: kB)
  brief latency|throughput|graphile|park FILE [FILE]
                            one line about a part, for the progress log
  report DIR [--write BENCHMARKS.md]
                            DIR holds meta.env, latency.json (+ .rc, -meta.json), per round R
                            throughput-R.json, throughput-meta-R.json and graphile-R.json
                            (when run), park.json and
                            park-meta.json; prints the table; exit 0 measured (PASS or MISS),
                            1 a part was invalid or is missing.

Only the standard library is used.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import median, postmaster_ticks, proc_status, proc_ticks, write_summary  # noqa: E402

START = "<!-- bench:work:start -->"
END = "<!-- bench:work:end -->"
P99_TARGET_MS = 20.0
RATIO_TARGET = 1.0
RSS_TARGET_MIB = 256.0


def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text.splitlines()[-1]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def ticks(pid):
    return proc_ticks(pid, False)


def read_meta(path):
    meta = {}
    try:
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    except OSError:
        pass
    return meta


def num(x, digits=0):
    if x is None:
        return "?"
    if digits == 0:
        return "{:,}".format(int(round(x)))
    return "{:,.{}f}".format(x, digits)


# ---------------------------------------------------------------------------------------------
# brief


def brief(kind, files):
    if kind == "latency":
        s = load(files[0]) or {}
        r = s.get("receipt") or {}
        return ("receipts %s of %s probes (missing %s), p50 %s ms, p99 %s ms, max %s ms; "
                "replies ok %s, failed %s, poll failures %s"
                % (r.get("n"), r.get("probes"), r.get("missing"), r.get("p50_ms"),
                   r.get("p99_ms"), r.get("max_ms"), (s.get("replies") or {}).get("ok"),
                   (s.get("replies") or {}).get("failed"), (s.get("polls") or {}).get("failed")))
    if kind == "throughput":
        m = load(files[0]) or {}
        rate = m.get("completed", 0) / m["seconds"] if m.get("seconds") else 0
        return ("%s instructions answered in %s s: %s/s (left %s, agent-sim exit %s)"
                % (m.get("completed"), m.get("seconds"), num(rate), m.get("left"),
                   m.get("simRc")))
    if kind == "graphile":
        g = load(files[0]) or {}
        return ("%s jobs in %s s: %s/s (graphile-worker %s)"
                % (g.get("jobs"), g.get("seconds"), num(g.get("rate")), g.get("version")))
    if kind == "park":
        m = load(files[0]) or {}
        s = load(files[1]) or {}
        return ("RSS %s MiB (peak %s), %s open files, CPU %s %% of a core while parked; "
                "polls %s, failed %s, replies %s; agent-sim exit %s"
                % (num(m.get("rssKb", 0) / 1024, 1), num(m.get("hwmKb", 0) / 1024, 1),
                   m.get("fds"), num(m.get("cpuPct"), 1), (s.get("polls") or {}).get("sent"),
                   (s.get("polls") or {}).get("failed"), (s.get("replies") or {}).get("ok"),
                   m.get("simRc")))
    raise SystemExit("worklib: unknown brief " + kind)


# ---------------------------------------------------------------------------------------------
# report


def verdict(ok, valid=True):
    """A figure's result: INVALID when its run failed (a failed poll, reply or registration,
    agent-sim's exit, runosd's death), whatever the figure says; else PASS or MISS."""
    if not valid:
        return "INVALID"
    return "PASS" if ok else "MISS"


def build(d):
    meta = read_meta(os.path.join(d, "meta.env"))
    lat = load(os.path.join(d, "latency.json"))
    try:
        lat_rc = int(open(os.path.join(d, "latency.rc")).read().strip())
    except (OSError, ValueError):
        lat_rc = None
    rounds = range(1, int(meta.get("TP_ROUNDS", "1")) + 1)
    tp_sims = [load(os.path.join(d, "throughput-%d.json" % r)) for r in rounds]
    tps = [load(os.path.join(d, "throughput-meta-%d.json" % r)) for r in rounds]
    gws = [load(os.path.join(d, "graphile-%d.json" % r)) for r in rounds]
    park_sim = load(os.path.join(d, "park.json"))
    park = load(os.path.join(d, "park-meta.json"))
    invalid, rows, info, misses = [], [], [], []
    parts = meta.get("PARTS", "abd")
    for part in "abd":
        if part not in parts:
            rows.append(("(%s) not run (--parts %s)" % (part, parts), "", "", "", "", "not run"))

    # (a)
    if "a" not in parts:
        pass
    elif not lat or "receipt" not in lat:
        invalid.append("(a): no agent-sim summary")
    else:
        r = lat["receipt"]
        bad = []
        if lat_rc:
            bad.append("agent-sim exit %s" % lat_rc)
        for what, n in (("failed polls", lat["polls"]["failed"]),
                        ("failed replies", lat["replies"]["failed"]),
                        ("failed registrations", r["failed"]), ("missing receipts", r["missing"])):
            if n:
                bad.append("%s %s" % (n, what))
        if bad:
            invalid.append("(a): " + ", ".join(bad))
        ok = r["p99_ms"] <= P99_TARGET_MS
        rows.append(("(a) queue → agent receipt, agents parked: p50 / p99 ms (%s receipts: %s "
                     "agents × %s registrations)" % (num(r["n"]), lat["agents"], r["probes"]),
                     "%s / %s" % (num(r["p50_ms"], 2), num(r["p99_ms"], 2)), "—", "",
                     "p99 ≤ %g ms" % P99_TARGET_MS, verdict(ok, not bad)))
        if not ok and not bad:
            misses.append("receipt p99 %.2f ms > %g ms" % (r["p99_ms"], P99_TARGET_MS))
        info.append(("(a) receipt latency min / max ms", "%s / %s" % (num(r["min_ms"], 2),
                                                                     num(r["max_ms"], 2))))
        first, last, reg = r.get("first"), r.get("last"), r.get("register")
        if first and last and reg:
            info.append(("(a) per registration, p50 / p99 ms: its round trip (201); from the 201, "
                         "the first and the last of its %s receipts" % lat["agents"],
                         "%s / %s; %s / %s; %s / %s"
                         % tuple(num(x[k], 2) for x in (reg, first, last)
                                 for k in ("p50_ms", "p99_ms"))))
        lat_meta = load(os.path.join(d, "latency-meta.json"))
        if lat_meta and r["n"]:
            info.append(("(a) CPU per receipt over the run (registration, claim, answer, reply "
                         "included), µs: runosd / PostgreSQL / agent-sim (the client)",
                         "%s / %s / %s" % (num(lat_meta["cpuSeconds"] * 1e6 / r["n"]),
                                           num(lat_meta["pgCpuSeconds"] * 1e6 / r["n"]),
                                           num(lat.get("cpuSeconds", 0) * 1e6 / r["n"]))))

    # (b), (c): each round checked, the medians compared
    tp_rates, gw_rates = [], []
    invalid_before_b = len(invalid)
    for r, tp, tp_sim, gw in zip(rounds, tps, tp_sims, gws):
        if not tp:
            if "b" in parts:
                invalid.append("(b) round %d: no result" % r)
            continue
        if tp.get("left"):
            invalid.append("(b) round %d: %s instructions left open" % (r, tp["left"]))
        if tp.get("simRc"):
            invalid.append("(b) round %d: agent-sim exit %s" % (r, tp["simRc"]))
        if tp_sim and (tp_sim["polls"]["failed"] or tp_sim["replies"]["failed"]):
            invalid.append("(b) round %d: %s failed polls, %s failed replies"
                           % (r, tp_sim["polls"]["failed"], tp_sim["replies"]["failed"]))
        tp_rates.append(tp["completed"] / tp["seconds"] if tp["seconds"] else 0)
        if meta.get("GRAPHILE") == "1" and not gw:
            invalid.append("(c) round %d: no graphile-worker result" % r)
        if gw and (gw.get("failed") or gw.get("ran") != gw.get("jobs")):
            invalid.append("(c) round %d: graphile-worker ran %s of %s jobs, %s failed"
                           % (r, gw.get("ran"), gw.get("jobs"), gw.get("failed")))
        if gw:
            gw_rates.append(gw.get("rate"))
    tp = next((x for x in tps if x), None)
    gw = next((x for x in gws if x), None)
    b_valid = len(invalid) == invalid_before_b
    if tp_rates:
        tp_rate = median(tp_rates)
        gw_rate = median(gw_rates)
        ratio = tp_rate / gw_rate if gw_rate else None
        ok = ratio is not None and ratio >= RATIO_TARGET
        rows.append(("(b)/(c) instructions/s, claim + reply over HTTP, %s agents (max %s per "
                     "poll), %s queued; reference: graphile-worker jobs/s, concurrency 64, "
                     "no-op task; medians of %d alternating rounds"
                     % (tp["agents"], tp["max"], num(tp["completed"]), len(tp_rates)),
                     num(tp_rate), "%s jobs/s (graphile-worker %s)" % (num(gw_rate), gw["version"])
                     if gw else "not run", num(ratio, 2) if ratio is not None else "",
                     "≥ %g" % RATIO_TARGET, verdict(ok, b_valid) if gw or not b_valid
                     else "not measured"))
        if gw and not ok and b_valid:
            misses.append("throughput ratio %.2f < %g" % (ratio, RATIO_TARGET))
        info.append(("(b) / (c) per round, instructions/s / jobs/s",
                     "; ".join("%s / %s" % (num(a), num(b) if b is not None else "—")
                               for a, b in zip(tp_rates, gw_rates + [None] * len(tp_rates)))))
        sims = [x for x in tp_sims if x]
        if sims:
            info.append(("(b) reply round trip p50 / p99 / max ms (medians)",
                         "%s / %s / %s" % tuple(num(median([x[k] for x in sims]), 2)
                                                for k in ("p50_ms", "p99_ms", "max_ms"))))
        per_instr = lambda key, rows_: median([x[key] * 1e6 / x["completed"]
                                           for x in rows_ if x and x.get(key) is not None
                                           and x.get("completed")])
        runs_ = [x for x in tps if x]
        sim_cpu = median([s_["cpuSeconds"] * 1e6 / t["completed"] for s_, t in zip(tp_sims, tps)
                       if s_ and t and s_.get("cpuSeconds") is not None and t.get("completed")])
        info.append(("(b) CPU per instruction over the drain, µs: runosd / PostgreSQL / "
                     "agent-sim (the client); medians",
                     "%s / %s / %s" % (num(per_instr("cpuSeconds", runs_)),
                                       num(per_instr("pgCpuSeconds", runs_)), num(sim_cpu))))
        gws_ = [dict(x, completed=x["jobs"]) for x in gws if x and x.get("jobs")]
        if gws_:
            info.append(("(c) CPU per job over the run, µs: graphile-worker (Node) / PostgreSQL; "
                         "medians", "%s / %s" % (num(per_instr("cpuSeconds", gws_)),
                                                num(per_instr("pgCpuSeconds", gws_)))))
        info.append(("(b) first to last completed_at in the database, s (rate over it); medians",
                     "%s (%s/s)" % (num(median([x["span"] for x in runs_]), 2),
                                    num(median([x["completed"] / x["span"] for x in runs_
                                             if x["span"]])))))
        info.append(("(b) queueing: %s registrations with %s online agents, s (median)"
                     % (tp["nodes"], tp["agents"]),
                     num(median([x["registerSeconds"] for x in runs_]), 1)))

    # (d)
    if "d" not in parts:
        pass
    elif not park:
        invalid.append("(d): no result")
    else:
        bad = []
        if not park.get("alive"):
            bad.append("runosd died")
        if park.get("simRc"):
            bad.append("agent-sim exit %s" % park["simRc"])
        if park_sim and park_sim["polls"]["failed"]:
            bad.append("%s failed polls" % park_sim["polls"]["failed"])
        if park_sim and park_sim["polls"]["sent"] < park["agents"]:
            bad.append("only %s polls sent" % park_sim["polls"]["sent"])
        if bad:
            invalid.append("(d): " + ", ".join(bad))
        rss = park["rssKb"] / 1024.0
        ok = rss <= RSS_TARGET_MIB
        rows.append(("(d) runosd RSS with %s parked polls (wait=%s, started over %s s), MiB"
                     % (num(park["agents"]), park["wait"], park["ramp"]),
                     num(rss, 1), "—", "", "≤ %g MiB" % RSS_TARGET_MIB, verdict(ok, not bad)))
        if not ok and not bad:
            misses.append("RSS %.1f MiB > %g MiB" % (rss, RSS_TARGET_MIB))
        info.append(("(d) runosd peak RSS (VmHWM) / RSS at start, MiB",
                     "%s / %s" % (num(park["hwmKb"] / 1024, 1), num(park["rssStartKb"] / 1024, 1))))
        info.append(("(d) runosd CPU while parked, %% of one core (%s s)" % park.get("sample", 5),
                     num(park["cpuPct"], 1)))
        info.append(("(d) runosd open files / threads", "%s / %s" % (park["fds"], park["threads"])))
        info.append(("(d) registration of %s agents without CSR, s (per second)" % num(park["agents"]),
                     "%s (%s/s)" % (num(park["registerSeconds"], 1),
                                    num(park["agents"] / park["registerSeconds"])
                                    if park["registerSeconds"] else "?")))
    return meta, rows, info, invalid, misses


def table(rows):
    out = ["| figure | runosd | reference | ratio | target | result |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return out


def info_table(info):
    out = ["| also measured | value |", "|---|---|"]
    for k, v in info:
        out.append("| %s | %s |" % (k, v))
    return out


def section(meta, rows, info, invalid, misses):
    lines = [START, "## Work queue: receipt latency, throughput against graphile-worker, parked "
             "polls (%s)" % meta.get("DATE", "?")[:10], "",
             "Written by `tests/bench/work.sh` on %s. Command: `%s`."
             % (meta.get("DATE"), meta.get("COMMAND")), "",
             "- machine: %s" % meta.get("MACHINE"),
             "- software: PostgreSQL %s, agent-sim (tests/agent-sim `work`, libcurl multi, one "
             "thread), Node %s" % (meta.get("PG_VERSION"), meta.get("NODE")),
             "- runosd: %s; RUNOS_THREADS=%s, RUNOS_DB_POOL=%s, RUNOS_LOG_LEVEL=warn"
             % (meta.get("BUILD"), meta.get("THREADS"), meta.get("DB_POOL")),
             "- PostgreSQL: %s" % meta.get("PG"),
             "- Redis: %s" % meta.get("REDIS", "none"),
             "- before the start: %s; the whole run took %s s"
             % (meta.get("LOAD_BEFORE"), meta.get("RUN_SECONDS")), ""]
    lines += table(rows) + [""] + info_table(info) + [""]
    if invalid:
        lines.append("**INVALID: %s**" % "; ".join(invalid))
    elif misses:
        lines.append("**MISS: %s**" % "; ".join(misses))
    else:
        lines.append("**PASS: every target met**")
    lines += ["", "How it is measured:", ""]
    lines += [
        "- (a) The agents (all online: one heartbeat each first) keep `GET /agent/v1/instructions"
        "?wait=60&max=10` open. The same agent-sim process registers a new node in their "
        "cluster (`POST /agent/v1/register`, no CSR, over one keep-alive connection), which "
        "queues one `SET_VPN_PEERS` per online node; it waits for every agent's instruction (5 s "
        "at most), for every agent to answer and poll again, and 50 ms more, then registers the "
        "next. A receipt's latency is when the process saw the poll answer carrying it minus "
        "when it saw the registration's 201: both on the CLOCK_MONOTONIC of agent-sim's one "
        "thread, so there is no clock to align between processes and each stamp carries the "
        "same client-side delay (the time from the socket being readable to libcurl reporting "
        "the transfer). It includes the wake-up (runosd runs with a private Redis, as several "
        "instances do: a PUBLISH after the registration's commit, received by runosd's own "
        "subscription), "
        "runosd's resumption of the parked poll, the claim (one UPDATE … RETURNING) and the "
        "answer over TLS.",
        "- (b) 64 online agents of one cluster; %s more nodes registered (%s at a time) queue "
        "64 `SET_VPN_PEERS` each (payload: the cluster's peer list, the size given above is "
        "the mean), plus one `RUN_REMOTE_SCRIPT` per agent left from its own registration. "
        "Then `agent-sim work --max 10 --until-replies N` starts (one TLS connection per agent, "
        "each agent answering its instructions one after the other with `NO_CONTENT`) and ends "
        "when the N queued instructions have been answered 204; the rate is N ÷ agent-sim's "
        "run time (start to exit), and the database is checked afterwards to hold none of them "
        "open. A reply is one statement that completes the instruction and counts down its "
        "step; the step's last reply then moves the job on in a transaction (the next step "
        "starts)." % ("150", "8"),
        "- (c) graphile-worker (`tests/bench/peers/graphile/bench.js`) in a schema of its own "
        "on the same PostgreSQL: as many jobs as (b) completed, each carrying a real "
        "`SET_VPN_PEERS` payload of (b) (the one nearest the mean size, so that it compresses "
        "in TOAST as runosd's do), added with `addJobs` before the clock starts; then `run()` "
        "with concurrency 64, a pg pool of 10 (runosd's: RUNOS_DB_POOL above), its defaults "
        "otherwise (one job per fetch, no local "
        "queue, no batched completion), a task that does nothing; timed from the start of "
        "`run()` until the task has run for every job and the job table is empty. Both sides pay their start (agent-sim's 64 TLS "
        "handshakes, graphile-worker's pool and LISTEN) inside the measured time.",
        "- (d) A fresh runosd (so the RSS is this load's): %s agents (%s clusters of 250, "
        "registered without CSR on the previous runosd), each with its own TLS connection, "
        "first polls spread over the ramp; each agent first gets and answers the "
        "`RUN_REMOTE_SCRIPT` its registration queued, then parks. VmRSS of runosd is read 9 s "
        "after the ramp (its CPU sampled over the last 5 s), when every poll has parked (the first ones have already come back "
        "empty once and parked again)." % (meta.get("PARK", "the"), meta.get("PARK_CLUSTERS", "")),
    ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def rewrite(path, text):
    try:
        old = open(path).read()
    except OSError:
        old = ""
    if START in old and END in old:
        a = old.index(START)
        b = old.index(END) + len(END)
        rest = old[b:]
        if rest.startswith("\n"):
            rest = rest[1:]
        new = old[:a] + text + rest
    else:
        new = old + ("" if old.endswith("\n\n") or not old else "\n") + text
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def report(args):
    d = args[0]
    write = None
    if len(args) >= 3 and args[1] == "--write":
        write = args[2]
    meta, rows, info, invalid, misses = build(d)
    print()
    for line in table(rows) + [""] + info_table(info):
        print(line)
    print()
    if invalid:
        print("bench/work: INVALID: " + "; ".join(invalid))
    elif misses:
        print("bench/work: MISS: " + "; ".join(misses))
    else:
        print("bench/work: PASS: every target met" if meta.get("GRAPHILE") == "1"
              else "bench/work: PASS: every target measured was met (graphile-worker not run)")
    write_summary(d, [list(r) for r in rows if r[5] != "not run"] +
                  ([["work.sh: " + "; ".join(invalid), "", "", "", "", "INVALID"]]
                   if invalid else []))
    if write and not invalid:
        rewrite(write, section(meta, rows, info, invalid, misses))
        print("bench/work: wrote the bench:work section of %s" % write)
    return 1 if invalid else 0


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "ticks":
        print(ticks(int(argv[2])))
    elif cmd == "tree-ticks":
        print(postmaster_ticks(int(argv[2])))
    elif cmd == "status":
        print(proc_status(int(argv[2]), argv[3]) or 0)
    elif cmd == "brief":
        print(brief(argv[2], argv[3:]))
    elif cmd == "report":
        return report(argv[2:])
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
