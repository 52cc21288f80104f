// The graphile-worker side of tests/bench/work.sh: on the same PostgreSQL, in a schema of its
// own, add JOBS jobs (each with the JSON of PAYLOAD_FILE, or a padding of PAYLOAD_BYTES), then
// run a worker with CONCURRENCY whose
// task does nothing, and time it from the worker's start until the task has run JOBS times and
// the job table is empty (as work.sh times agent-sim until its replies are answered). Prints
// one JSON line:
//   {"jobs","seconds","rate","concurrency","version","schema","addSeconds","cpuSeconds",
//    "pgCpuSeconds"}
// (cpuSeconds: this process's CPU over the timed run; pgCpuSeconds: PostgreSQL's, with --pg-pid)
//
//   node bench.js --conninfo CONNINFO --jobs N [--concurrency 64]
//                 [--payload-file PAYLOAD_FILE | --payload-bytes PAYLOAD_BYTES]
//                 [--schema graphile_worker_bench] [--pg-pid POSTMASTER_PID]
//
// CONNINFO: a postgres:// URL or libpq key=value pairs (host, port, user, dbname, password).
// The schema is dropped first and left behind (work.sh's database is thrown away).
"use strict";

const { run, makeWorkerUtils, Logger } = require("graphile-worker");
const { Pool } = require("pg");

function parseArgs(argv) {
  const out = { concurrency: 64, payloadBytes: 0, schema: "graphile_worker_bench" };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === "--conninfo") out.conninfo = v;
    else if (k === "--jobs") out.jobs = parseInt(v, 10);
    else if (k === "--concurrency") out.concurrency = parseInt(v, 10);
    else if (k === "--payload-bytes") out.payloadBytes = parseInt(v, 10);
    else if (k === "--payload-file") out.payloadFile = v;
    else if (k === "--schema") out.schema = v;
    else if (k === "--pg-pid") out.pgPid = parseInt(v, 10);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!out.conninfo || !(out.jobs > 0) || !(out.concurrency > 0)) {
    throw new Error("usage: bench.js --conninfo CONNINFO --jobs N [--concurrency C]");
  }
  if (!/^[a-z_][a-z0-9_]*$/.test(out.schema)) throw new Error("bad schema name");
  return out;
}

// pg's configuration from a URL or from libpq key=value pairs.
function pgConfig(conninfo) {
  if (/^postgres(ql)?:\/\//.test(conninfo)) return { connectionString: conninfo };
  const cfg = {};
  for (const m of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    let v = m[2];
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    const key = { dbname: "database" }[m[1]] || m[1];
    cfg[key] = key === "port" ? parseInt(v, 10) : v;
  }
  return cfg;
}

// CPU seconds of a local PostgreSQL: its postmaster (with the backends it has reaped) and its
// live backends, read from /proc; null without --pg-pid (as work.sh's worklib.py tree-ticks).
function pgCpuSeconds(pid) {
  if (!(pid > 0)) return null;
  const fs = require("fs");
  const stat = (p) => fs.readFileSync(`/proc/${p}/stat`, "utf8").split(")").pop().trim().split(" ");
  const own = stat(pid);
  let ticks = [11, 12, 13, 14].reduce((t, i) => t + parseInt(own[i], 10), 0);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let child;
    try {
      child = stat(entry);
    } catch {
      continue;
    }
    if (parseInt(child[1], 10) === pid) ticks += parseInt(child[11], 10) + parseInt(child[12], 10);
  }
  return ticks / 100; // USER_HZ
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const quiet = new Logger(() => () => {});
  // 10 connections: graphile-worker's default pool (runosd's default is 8).
  const pool = new Pool({ ...pgConfig(args.conninfo), max: 10 });
  pool.on("error", (e) => console.error(`graphile bench: idle client: ${e.message}`));
  const count = async () =>
    parseInt((await pool.query(`SELECT count(*) AS n FROM ${args.schema}.jobs`)).rows[0].n, 10);

  await pool.query(`DROP SCHEMA IF EXISTS ${args.schema} CASCADE`);
  const utils = await makeWorkerUtils({ pgPool: pool, schema: args.schema, logger: quiet });
  await utils.migrate();

  const payload = args.payloadFile
    ? JSON.parse(require("fs").readFileSync(args.payloadFile, "utf8"))
    : args.payloadBytes > 0
      ? { pad: "x".repeat(args.payloadBytes) }
      : {};
  const addStart = performance.now();
  for (let done = 0; done < args.jobs; ) {
    const n = Math.min(1000, args.jobs - done);
    const specs = [];
    for (let i = 0; i < n; i++) specs.push({ identifier: "noop", payload });
    await utils.addJobs(specs);
    done += n;
  }
  const addSeconds = (performance.now() - addStart) / 1000;
  const queued = await count();
  if (queued !== args.jobs) throw new Error(`${queued} jobs queued, not ${args.jobs}`);
  await pool.query(`VACUUM ANALYZE ${args.schema}._private_jobs`);

  let ran = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const pg0 = pgCpuSeconds(args.pgPid);
  const runner = await run({
    pgPool: pool,
    schema: args.schema,
    concurrency: args.concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quiet,
    taskList: {
      noop: async () => {
        ran++;
      },
    },
  });
  // Done when the task has run for every job (counted in the process, as agent-sim counts its
  // answered replies), and the last completions are committed (the table is empty).
  while (ran < queued) await sleep(5);
  while ((await count()) > 0) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pg1 = pgCpuSeconds(args.pgPid);
  await runner.stop();
  await utils.release();
  const failed = parseInt(
    (await pool.query(`SELECT count(*) AS n FROM ${args.schema}.jobs WHERE last_error IS NOT NULL`))
      .rows[0].n,
    10,
  );
  await pool.end();
  const version = JSON.parse(
    require("fs").readFileSync(
      require("path").join(__dirname, "node_modules/graphile-worker/package.json"),
      "utf8",
    ),
  ).version;
  console.log(
    JSON.stringify({
      jobs: queued,
      ran,
      failed,
      seconds: Math.round(seconds * 1000) / 1000,
      rate: Math.round((queued / seconds) * 10) / 10,
      concurrency: args.concurrency,
      version,
      schema: args.schema,
      addSeconds: Math.round(addSeconds * 1000) / 1000,
      cpuSeconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
      pgCpuSeconds: pg0 === null ? null : Math.round((pg1 - pg0) * 100) / 100,
    }),
  );
}

main().catch((e) => {
  console.error(`graphile bench: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
