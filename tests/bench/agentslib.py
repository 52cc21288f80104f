#!/usr/bin/env python3
"""Helpers of tests/bench/agents.sh (the heartbeat benchmark: N simulated agents beating every
5 s against one runosd): run one `agent-sim beat` while sampling the CPU time of runosd,
PostgreSQL and agent-sim, print the table and the verdict, and rewrite the section of
BENCHMARKS.md between <!-- bench:agents:start --> and <!-- bench:agents:end -->.

Subcommands (called by agents.sh; none is meant to be called by hand):
  beat OUT N RUNOSD_PID PG_PID -- AGENT-SIM ARGS...
        runs AGENT-SIM ARGS (an `agent-sim beat`), writes OUT (JSON): its summary line, its
        exit status, and over the measured period (the last "seconds" of the run, which ends
        when the summary line arrives) the CPU of runosd, PostgreSQL (PG_PID: the postmaster
        with all its processes; "-" for none) and agent-sim, in percent of one core; runosd's
        VmRSS, VmHWM and threads when the summary arrives, and whether it still runs; the most
        open files runosd had (every 5 s). Exit 0 when OUT was
        written (whatever agent-sim said), 1 otherwise.
  report DIR [--write BENCHMARKS.md]
        DIR holds meta.env and run-<N>.json (one per N, from beat); prints the table and the
        verdict; exit 0 measured (PASS or MISS), 1 a run was invalid (or none).

Only the standard library (and benchlib.py next to this file) is used.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (proc_ticks, postmaster_ticks, proc_status, rewrite_section, read_meta)

TARGET_N = 10000
P99_LIMIT_MS = 50.0
CPU_LIMIT_PCT = 50.0  # of ONE core
START = "<!-- bench:agents:start -->"
END = "<!-- bench:agents:end -->"
SAMPLE_S = 0.5
CLK_TCK = benchlib.CLK_TCK


# ---------------------------------------------------------------------------------------------
# beat


def machine_busy_ticks():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]


def alive(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("State:"):
                return line.split()[1] not in ("Z", "X")
    except OSError:
        pass
    return False


def open_files(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


class Sampler(threading.Thread):
    """(time, runosd ticks, postgres ticks, client ticks, machine busy ticks) every SAMPLE_S
    seconds."""

    def __init__(self, server, pg, client):
        super().__init__(daemon=True)
        self.server, self.pg, self.client = server, pg, client
        self.samples = []
        self.max_open_files = None  # runosd's, every 10th sample
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def take(self):
        s = (time.monotonic(), benchlib.proc_ticks(self.server, False),
             benchlib.postmaster_ticks(self.pg) if self.pg else None, benchlib.proc_ticks(self.client, False),
             machine_busy_ticks())
        with self.lock:
            self.samples.append(s)
        return s

    def run(self):
        i = 0
        while not self.stop.wait(SAMPLE_S):
            self.take()
            i += 1
            if i % 10 == 2:
                n = open_files(self.server)
                if n is not None and (self.max_open_files is None or n > self.max_open_files):
                    self.max_open_files = n


def ticks_at(samples, idx, t):
    """Ticks of column idx at time t, linear between the samples around it; None if unknown."""
    before = [s for s in samples if s[0] <= t and s[idx] is not None]
    after = [s for s in samples if s[0] >= t and s[idx] is not None]
    if not before and after:
        return after[0][idx]  # the window starts before the first sample: no better guess
    if not before:
        return None
    a = before[-1]
    if not after:
        return a[idx]
    b = after[0]
    if b[0] == a[0]:
        return a[idx]
    return a[idx] + (b[idx] - a[idx]) * (t - a[0]) / (b[0] - a[0])


def on_term(signum, frame):
    raise KeyboardInterrupt


def beat(out_path, n, server_pid, pg_pid, cmd):
    pg = int(pg_pid) if pg_pid not in ("-", "") else None
    # agents.sh stops this with SIGTERM (its cleanup): stop agent-sim too. SIGINT is ignored
    # when agents.sh started this in the background; agent-sim handles it itself.
    signal.signal(signal.SIGTERM, on_term)
    err_path = out_path[:-5] + ".stderr.txt" if out_path.endswith(".json") else out_path + ".err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        sampler = Sampler(server_pid, pg, proc.pid)
        sampler.take()
        sampler.start()
        summary_line, end_sample, end_status = None, None, {}
        try:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("{"):
                    # The measured period ends now: the counters first, then memory.
                    end_sample = sampler.take()
                    end_status = {"rss_kb": benchlib.proc_status(server_pid, "VmRSS"),
                                  "hwm_kb": benchlib.proc_status(server_pid, "VmHWM"),
                                  "threads": benchlib.proc_status(server_pid, "Threads"),
                                  "alive": alive(server_pid)}
                    summary_line = line
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()  # agent-sim finishes its requests in flight and prints its summary
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return 1
        finally:
            sampler.stop.set()
            sampler.join()
    result = {"n": n, "rc": rc, "sim": None, "cpu": {}, "window_s": None,
              "open_files": sampler.max_open_files}
    result.update(end_status)
    if summary_line:
        try:
            result["sim"] = json.loads(summary_line)
        except ValueError:
            result["sim"] = None
    sim = result["sim"]
    if sim and end_sample and sim.get("seconds", 0) > 0:
        t1 = end_sample[0]
        t0 = t1 - float(sim["seconds"])
        result["window_s"] = t1 - t0
        samples = sampler.samples
        for idx, name in ((1, "runosd"), (2, "postgres"), (3, "client"), (4, "machine")):
            a = ticks_at(samples, idx, t0)
            b = end_sample[idx]
            if a is not None and b is not None:
                # percent of ONE core over the measured period
                result["cpu"][name] = 100.0 * (b - a) / CLK_TCK / (t1 - t0)
    with open(out_path, "w") as f:
        json.dump(result, f)
    return 0 if sim else 1


# ---------------------------------------------------------------------------------------------
# report


def fmt(v, digits=0):
    if v is None:
        return "—"
    if isinstance(v, (int, float)) and digits == 0:
        return "{:,}".format(int(round(v)))
    return ("{:,.%df}" % digits).format(v)


def load_runs(directory):
    runs = []
    for name in os.listdir(directory):
        if name.startswith("run-") and name.endswith(".json"):
            try:
                runs.append(json.load(open(os.path.join(directory, name))))
            except ValueError:
                pass
    runs.sort(key=lambda r: r.get("n", 0))
    return runs


def judge(r, duration):
    """(problems that make the run invalid, reasons it misses the limits) of one run."""
    invalid, misses = [], []
    sim = r.get("sim")
    if not sim:
        invalid.append("agent-sim printed no summary (exit %s)" % r.get("rc"))
        return invalid, misses
    if sim.get("agents") != r.get("n"):
        invalid.append("%s agents beat, not %s (state file too short?)" % (sim.get("agents"),
                                                                           r.get("n")))
    if float(sim.get("seconds", 0)) < 0.9 * duration:
        invalid.append("measured %.1f s of %s (interrupted?)" % (float(sim.get("seconds", 0)),
                                                               duration))
    if not r.get("alive", True):
        invalid.append("runosd died during the run")
    if r.get("cpu", {}).get("runosd") is None:
        invalid.append("no CPU figure for runosd")
    if sim.get("ok", 0) == 0:
        invalid.append("no heartbeat succeeded")
    failed = failures(r)
    if failed:
        misses.append("%d failed" % failed)
    if sim.get("ok", 0) and float(sim.get("p99_ms", 0)) >= P99_LIMIT_MS:
        misses.append("p99 %.1f ms ≥ %g" % (float(sim["p99_ms"]), P99_LIMIT_MS))
    cpu = r.get("cpu", {}).get("runosd")
    if cpu is not None and cpu >= CPU_LIMIT_PCT:
        misses.append("CPU %.1f %% of a core ≥ %g" % (cpu, CPU_LIMIT_PCT))
    return invalid, misses


def failures(r):
    sim = r.get("sim") or {}
    warm = sim.get("warmup") or {}
    return int(sim.get("failed", 0)) + int(warm.get("failed", 0)) + int(sim.get("renewFailed", 0))


def codes_text(r):
    sim = r.get("sim") or {}
    codes = dict(sim.get("codes") or {})
    for k, v in ((sim.get("warmup") or {}).get("codes") or {}).items():
        codes["warm-up " + k] = codes.get("warm-up " + k, 0) + v
    bad = {k: v for k, v in codes.items() if not k.endswith("200")}
    return ", ".join("%s × %s" % (v, k) for k, v in sorted(bad.items()))


def other_cpu(cpu):
    """CPU (% of one core) of the machine not spent by runosd, PostgreSQL or agent-sim: the
    kernel's softirq work and whatever else runs."""
    if cpu.get("machine") is None or cpu.get("runosd") is None or cpu.get("client") is None:
        return None
    return max(0.0, cpu["machine"] - cpu["runosd"] - (cpu.get("postgres") or 0) - cpu["client"])


def rows_of(runs, duration):
    rows = []
    for r in runs:
        sim = r.get("sim") or {}
        invalid, misses = judge(r, duration)
        cpu = r.get("cpu", {})
        c = cpu.get("runosd")
        if invalid:
            result = "INVALID"
        elif misses:
            result = "over"
        else:
            result = "within"
        rows.append({
            "n": r.get("n"), "beats": sim.get("beats"), "failed": failures(r) if sim else None,
            "p50": sim.get("p50_ms"), "p99": sim.get("p99_ms"), "max": sim.get("max_ms"),
            "late": sim.get("late"), "cpu": c, "cpu_machine": c / 2 if c is not None else None,
            "pg": cpu.get("postgres"), "client": cpu.get("client"),
            "machine": cpu.get("machine"), "other": other_cpu(cpu),
            "rss": r["rss_kb"] / 1024 if r.get("rss_kb") else None,
            "hwm": r["hwm_kb"] / 1024 if r.get("hwm_kb") else None,
            "rate": sim.get("beats") / float(sim["seconds"]) if sim.get("seconds") else None,
            "warm_p99": (sim.get("warmup") or {}).get("p99_ms"),
            "open_files": r.get("open_files"), "threads": r.get("threads"),
            "result": result, "invalid": invalid, "misses": misses, "codes": codes_text(r),
        })
    return rows


def verdict(rows):
    ok = [row["n"] for row in rows if row["result"] == "within"]
    best = max(ok) if ok else None
    state = "PASS" if best is not None and best >= TARGET_N else "MISS"
    return best, state


def render(rows, markdown, cores):
    head = ["N agents", "beats", "beats/s", "failed", "p50 ms", "p99 ms", "max ms", "late",
            "runosd CPU, % of 1 core", "(%% of the %d cores)" % cores, "RSS MiB (peak)",
            "within limits"]
    lines = []
    for row in rows:
        lines.append([fmt(row["n"]), fmt(row["beats"]), fmt(row["rate"]), fmt(row["failed"]),
                      fmt(row["p50"], 2), fmt(row["p99"], 2), fmt(row["max"], 1),
                      fmt(row["late"]), fmt(row["cpu"], 1),
                      fmt(row["cpu"] / cores if row["cpu"] is not None else None, 1),
                      "%s (%s)" % (fmt(row["rss"], 1), fmt(row["hwm"], 1)),
                      {"within": "yes", "over": "no: " + "; ".join(row["misses"]),
                       "INVALID": "INVALID: " + "; ".join(row["invalid"])}[row["result"]]])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def render_cpu(rows, markdown):
    head = ["N agents", "runosd", "PostgreSQL", "agent-sim", "other", "machine busy",
            "runosd open files (max)", "runosd threads", "warm-up p99 ms"]
    lines = [[fmt(r["n"]), fmt(r["cpu"], 1), fmt(r["pg"], 1), fmt(r["client"], 1),
              fmt(r["other"], 1), fmt(r["machine"], 1), fmt(r["open_files"]),
              fmt(r["threads"]), fmt(r["warm_p99"], 1)] for r in rows]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def verdict_line(rows, best, state):
    if best is None:
        return ("bench/agents: %s: no N within the limits (p99 < %g ms, runosd CPU < %g %% of one "
                "core, no failed beat); target N ≥ %s" % (state, P99_LIMIT_MS, CPU_LIMIT_PCT,
                                                          "{:,}".format(TARGET_N)))
    return ("bench/agents: %s: largest N within the limits (p99 < %g ms, runosd CPU < %g %% of one "
            "core, no failed beat): %s agents; target N ≥ %s" % (
                state, P99_LIMIT_MS, CPU_LIMIT_PCT, "{:,}".format(best), "{:,}".format(TARGET_N)))


def section(meta, rows, best, state, invalid_any):
    cores = int(meta.get("CORES", "2"))
    date = meta.get("DATE", "?")
    v = verdict_line(rows, best, state).replace("bench/agents: ", "")
    if invalid_any:
        v += " (a run was INVALID: see the table)"
    odd = [r for r in rows if r["codes"]]
    notes = ""
    if odd:
        notes = "\nAnswers other than 200: " + "; ".join(
            "N = %s: %s" % (fmt(r["n"]), r["codes"]) for r in odd) + ".\n"
    text = """{start}
## Heartbeats: N agents beating every {interval} s against one runosd ({day})

Written by `tests/bench/agents.sh` on {date}. Command: `{command}`.

- machine: {machine}
- software: PostgreSQL {pgver}; agent-sim (tests/agent-sim: libcurl multi, one thread), {agentsim}
- runosd: {build}; RUNOS_THREADS={threads}, RUNOS_DB_POOL={pool}, RUNOS_LOG_LEVEL=warn,
  RUNOS_AGENT_MAX_CONNECTIONS = N + 1000, RUNOS_NODE_OFFLINE_AFTER = max(30, W + 10),
  RUNOS_HTTP_TIMEOUT = max(60, W + 10) (W: the warm-up, below)
- PostgreSQL: {pg}
- fleet: {nmax} agents registered once ({clusters} clusters of at most 250, one join token each,
  one account; with CSRs) in {regs} s ({regrate} registrations/s); each N beats with the first
  N of them
- each N: a fresh runosd; `agent-sim beat --interval {interval} --warmup W --duration {duration}
  --max-agents N` with W = max(1, ⌈N / {rate}⌉) s (warm-ups: {warmups}); figures are about the
  {duration} s after the warm-up
- before the start: {load}

{table}

**{verdict}**
{notes}
CPU over the measured period, % of one core ("other": the rest of the machine's busy time,
the kernel's softirq work and anything else running; "machine busy" is out of {cores}00), and
runosd's open files (the most seen, every 5 s) and threads:

{cpu}

How to read this:

- Limits, per N: heartbeat p99 (agent-sim's request start to last byte, of the measured beats)
  under {p99:g} ms, runosd's CPU under {cpulim:g} % **of one core** (utime + stime from
  /proc/PID/stat over the measured period; the stricter reading of "under 50 %": the machine
  has {cores} cores, so it is also under {half:g} % of the machine, the column in brackets), and
  no failed heartbeat, warm-up included. "late" counts beats that finished after the agent's
  next one was due. RSS is VmRSS when the measured period ends, and VmHWM (the peak of that
  runosd process, warm-up included) in brackets.
- agent-sim, runosd and PostgreSQL share the {cores} cores, so the figures are pessimistic for
  the server: the client's CPU (its column above) is taken from the same cores, and its own
  scheduling delays count in the latencies.
- The warm-up spreads the TLS handshakes over W seconds before the measured period, {rate} new
  connections per second, one beat each: each agent opens its own mutually authenticated
  connection, and a handshake costs far more than a beat on both sides (on this machine runosd
  and agent-sim together manage about 250 a second; at 200 a second the warm-up of 10,000 fell
  seconds behind, and its backlog spilled into the measured period). In the measured period
  every agent reuses its keep-alive connection, however long it was idle (agent-sim sets
  CURLOPT_MAXAGE_CONN to a week: libcurl's default of 118 s made the agents warmed first in the
  150 s warm-up of 15,000 reconnect all at once when the measured beats began, which
  saturated both cores). A fresh runosd per N gives each N its own RSS
  and peak; it also learns each certificate (one lookup) and marks each node online (one
  transition) during the warm-up, not in the measured period.
- An agent is silent from its warm-up beat to its first measured beat, up to W seconds, which
  real agents beating every {interval} s never are; so two timeouts are raised above W + 10 s
  for the run. RUNOS_HTTP_TIMEOUT (idle connections, default 60 s): otherwise runosd closes the
  connections of the agents warmed first and they all reconnect at the start of the measured
  period (tried: with W = 100 s, 10,000 agents then saturated both cores with handshakes and
  beats timed out). RUNOS_NODE_OFFLINE_AFTER (default 30 s): otherwise their nodes go offline
  and come back online, a transition each, during the measured period. The grace period after
  a start is as long, so the scan for silent nodes (every 500 ms) starts max(30, W + 10) s
  after runosd's start, during the last ~20 s of each measured period of the default sweep,
  and finds none: N grows through the sweep, and the agents beyond N have never beaten, so
  they are not online.
{end}""".format(
        start=START, end=END, interval=meta.get("INTERVAL", "5"), day=date.split(" ")[0],
        date=date, command=meta.get("COMMAND", "tests/bench/agents.sh"),
        machine=meta.get("MACHINE", "?"), pgver=meta.get("PG_VERSION", "?"),
        build=meta.get("BUILD", "?"), agentsim=meta.get("AGENT_SIM", "?"), threads=meta.get("THREADS", "?"),
        pool=meta.get("DB_POOL", "?"), pg=meta.get("PG", "?"), nmax=fmt(int(meta.get("NMAX", 0))),
        clusters=meta.get("CLUSTERS", "?"), regs=meta.get("REG_SECONDS", "?"),
        regrate=meta.get("REG_RATE", "?"), duration=meta.get("DURATION", "?"),
        warmups=meta.get("WARMUPS", "?"), rate=meta.get("WARMUP_RATE", "200"),
        load=meta.get("LOAD_BEFORE", "?"),
        table=render(rows, True, cores), verdict=v, notes=notes,
        cpu=render_cpu(rows, True), p99=P99_LIMIT_MS, cpulim=CPU_LIMIT_PCT, cores=cores,
        half=CPU_LIMIT_PCT / cores)
    return text


def report(directory, write_path):
    meta = benchlib.read_meta(os.path.join(directory, "meta.env"))
    duration = float(meta.get("DURATION", "30"))
    cores = int(meta.get("CORES", "2"))
    runs = load_runs(directory)
    rows = rows_of(runs, duration)
    best, state = verdict(rows)
    invalid_any = any(r["result"] == "INVALID" for r in rows) or not rows
    print()
    print(render(rows, False, cores))
    print()
    print("CPU over the measured period, % of one core:")
    print(render_cpu(rows, False))
    for r in rows:
        if r["codes"]:
            print("N = %s, answers other than 200: %s" % (fmt(r["n"]), r["codes"]))
    print()
    print(verdict_line(rows, best, state))
    if invalid_any:
        print("bench/agents: INVALID: %s" % ("; ".join(
            "N = %s: %s" % (fmt(r["n"]), "; ".join(r["invalid"])) for r in rows if r["invalid"])
            or "no run"), file=sys.stderr)
    at_best = next((r for r in rows if r["n"] == best), None)
    benchlib.write_summary(directory, [[
        "simulated agents beating every 5 s, heartbeat p99 < %g ms (and runosd < %g %% of a "
        "core, no failed beat): largest N measured within" % (P99_LIMIT_MS, CPU_LIMIT_PCT),
        "%s (p99 %s ms)" % (fmt(best), fmt(at_best["p99"], 2)) if at_best else "none",
        "—", "", "≥ %s" % fmt(TARGET_N), "INVALID" if invalid_any else state]])
    if write_path:
        benchlib.rewrite_section(write_path, section(meta, rows, best, state, invalid_any),
                                 START, END)
        print("bench/agents: %s rewritten (bench:agents section)" % write_path)
    return 1 if invalid_any else 0


def main(argv):
    if len(argv) >= 7 and argv[0] == "beat" and argv[5] == "--":
        return beat(argv[1], int(argv[2]), int(argv[3]), argv[4], argv[6:])
    if argv and argv[0] == "report" and len(argv) in (2, 4):
        write = argv[3] if len(argv) == 4 and argv[2] == "--write" else None
        return report(argv[1], write)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
