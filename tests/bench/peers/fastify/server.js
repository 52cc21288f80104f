// A peer of one runosd endpoint for the benchmarks: GET /:aid/clusters/:cid authenticated with a
// personal access token (or a session token), in Node 20 with Fastify 5 and pg 8, written the
// way their documentation recommends: Fastify's router, hooks and response schema (the 200 body
// goes through fast-json-stringify), pg.Pool with named prepared queries. It does the work runosd
// does for that request, step by step, against the same database:
//
//   1. the :aid must look like an account id (idalloc_is_short_id), else 404 account.not_found,
//      before any token is looked at (server/http/dispatch.c, authorize);
//   2. the bearer token (server/auth/token.c): "Bearer " (scheme case-insensitive), 53
//      characters, base62 after the prefix, the CRC-32 checksum, the prefix rnp_ (PAT) or rns_
//      (session); else 401 auth.invalid_token with the reason missing or malformed;
//   3. its SHA-256 looked up in a cache of 1 s (AUTH_CACHE_TTL_MS in include/auth/auth.h), else
//      with the statement credentials_pat or credentials_session (same SQL text, same name) of
//      server/db/credentials_store.c; the entry is the credential, the role in :aid is worked
//      out per request as runosd's fill_principal does (a PAT: only its own account, min of the
//      key's role and its creator's current one; a session with no role in :aid reads again at
//      once); unknown, revoked (revokedAt) or expired (expiredAt) → 401; the database
//      unreachable → 503;
//   4. no role in :aid (another account, or the creator left it) → 404 account.not_found; the
//      route's minimum role is viewer, the lowest, so a role is enough;
//   5. the :cid must look like a cid (idalloc_is_cid), else 404 cluster.not_found;
//   6. the cluster with the statement clusters_get of server/db/clusters_store.c (same SQL text,
//      CLUSTER_COLUMNS, NODE_COUNT and DB_US expanded), no row → 404 cluster.not_found;
//   7. 200 with cluster_to_json's body (server/api/clusters.c: the same members in the same
//      order, times as api_time formats them) and ETag "v<version>".
// Every answer carries X-Request-Id (the caller's when it is 8-64 plain characters, as runosd's
// assign_trace_id, else a random one), Cache-Control: no-store and X-Content-Type-Options:
// nosniff; errors are runosd's {error, code, traceId} (+ reason, expiredAt, revokedAt), with
// WWW-Authenticate: Bearer on a 401 and Retry-After: 1 on a 503.
//
// What runosd does on this request that the peer does not, so that the comparison is honest:
//   - the rate limit per token (an in-memory GCRA under a mutex, or Redis; the bench sets it out
//     of reach, but it is still taken on every request) and its RateLimit-Limit and
//     RateLimit-Remaining headers;
//   - the request metrics of GET /metrics (a few atomic increments per request);
//   - the access log at info (the bench runs runosd at warn, where it writes nothing per request;
//     the peer has logger: false);
//   - CORS (RUNOS_CORS_ORIGINS, empty by default), OPTIONS preflights, 405 for another method on a
//     known path (the peer answers any other route 404 route.not_found), idempotency keys (POST
//     only), the 1 MiB body limit and the 1024-byte path limit of the router;
//   - runosd's error messages are cut at 511 bytes; the peer's are not;
//   - Content-Type: runosd sends "application/json", Fastify "application/json; charset=utf-8"
//     (its default; JSON is UTF-8 either way).
//
// One process, one thread of JavaScript: no cluster module, no worker threads. This is Fastify's
// documented deployment: one instance per process, 1 to 2 vCPU per instance, more instances for
// more capacity (docs/Guides/Recommendations.md, "Capacity Planning For Production"). runosd runs
// one process with a pool of worker threads; each side is measured as it is deployed. The
// Database guide wraps pg in the @fastify/postgres plugin, which decorates the instance with a
// pg.Pool and nothing more; the pool is used directly here to keep to fastify and pg.
//
//   node server.js --port N [--host 127.0.0.1] [--pool N] [--database-url URL]
//
// The database: pg's standard PG* environment variables (PGHOST may be a unix socket directory,
// PGPORT, PGUSER, PGDATABASE, PGPASSWORD), or --database-url: a postgres:// URL (a unix socket as
// postgres://user@/db?host=/socket/dir&port=N) or libpq key=value pairs (host, port, user,
// dbname, password), as the bench scripts' CONNINFO. On start it runs SELECT 1, then prints
// "listening on http://HOST:PORT (pool N)" on stdout. Exit status: 1 a bad argument, 2 the database
// cannot be reached (as runosd's), 0 after SIGTERM or SIGINT.
"use strict";

const crypto = require("node:crypto");
const { parseArgs } = require("node:util");
const Fastify = require("fastify");
const pg = require("pg");

// The pool's default size, chosen by measurement: wrk -t2 -c32 -d5s with a PAT against this
// endpoint (token cache warm, one cluster with nodes), after a 2 s warm-up, on a 2-core machine
// that wrk and PostgreSQL share, three rounds of each size in turn; req/s, median (range):
//   --pool 4: 8,865 (8,848-9,830)   --pool 10: 9,994 (9,643-11,437)
//   --pool 16: 9,232 (8,352-9,597)  --pool 32: 8,279 (8,139-9,047)
// One JavaScript thread has few queries in flight at once; more connections only add
// PostgreSQL backends competing for the same cores. 10 is also pg.Pool's own default.
const DEFAULT_POOL = 10;

// Cache of credentials by the SHA-256 of their token (include/auth/auth.h): an entry is used for
// AUTH_CACHE_TTL_MS, then read again, so that a revocation, expiry or role change made elsewhere
// takes effect within that time. At most runosd's 64 shards × 4096 entries.
const AUTH_CACHE_TTL_MS = 1000;
const AUTH_CACHE_MAX = 64 * 4096;

// The statements, in the exact text runosd prepares (strings of build/server/runosd).
const DB_US = (col) => `(extract(epoch from ${col}) * 1000000)::int8`;
const NODE_COUNTS =
  "(SELECT ARRAY[count(*), count(*) FILTER (WHERE n.status = 'online')," +
  " count(*) FILTER (WHERE n.status = 'offline')] FROM nodes n" +
  " WHERE n.aid = clusters.aid AND n.cid = clusters.cid AND n.deleted_at IS NULL)";
const CONDITIONS =
  "(SELECT coalesce(json_agg(json_build_object('type', k.type, 'status', k.status," +
  " 'reason', k.reason, 'message', k.message, 'lastTransitionUs'," +
  ` ${DB_US("k.last_transition_at")}) ORDER BY k.type), '[]')::text` +
  " FROM cluster_conditions k WHERE k.aid = clusters.aid AND k.cid = clusters.cid)";
const CLUSTER_COLUMNS =
  "cid, name, description, cluster_index, domain, status, configured, version, " +
  `${DB_US("created_at")}, ${DB_US("updated_at")}, ${NODE_COUNTS}, ${CONDITIONS}`;

const STMT_CREDENTIALS_PAT = {
  name: "credentials_pat",
  text:
    `SELECT k.id, k.created_by, k.aid, k.role, ${DB_US("k.expires_at")},` +
    ` coalesce(${DB_US("k.revoked_at")}, 0), m.aid, m.role` +
    " FROM api_keys k LEFT JOIN memberships m ON m.aid = k.aid AND m.uid = k.created_by" +
    " WHERE k.token_hash = $1",
};
const STMT_CREDENTIALS_SESSION = {
  name: "credentials_session",
  text:
    `SELECT s.id, s.uid, NULL, NULL, ${DB_US("s.expires_at")},` +
    ` coalesce(${DB_US("s.revoked_at")}, 0), m.aid, m.role` +
    " FROM sessions s LEFT JOIN memberships m ON m.uid = s.uid WHERE s.token_hash = $1",
};
const STMT_CLUSTERS_GET = {
  name: "clusters_get",
  text: `SELECT ${CLUSTER_COLUMNS} FROM clusters WHERE aid = $1 AND cid = $2`,
};

// ---------------------------------------------------------------------------------------------
// Command line and database configuration

const USAGE = "usage: node server.js --port N [--host 127.0.0.1] [--pool N] [--database-url URL]";

// Failures go to stderr, as runosd's log at warn: nothing is written per request.
function warn(message) {
  process.stderr.write(`fastify-peer: ${message}\n`);
}

function fail(status, message) {
  warn(message);
  process.exit(status);
}

function positiveInt(name, text, max) {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    fail(1, `--${name} must be an integer from 1 to ${max}, not "${text}"\n${USAGE}`);
  }
  return Number(text);
}

function options(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        pool: { type: "string", default: String(DEFAULT_POOL) },
        "database-url": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(1, `${err.message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.port === undefined) fail(1, `--port is required\n${USAGE}`);
  return {
    port: positiveInt("port", values.port, 65535),
    host: values.host,
    pool: positiveInt("pool", values.pool, 1000),
    databaseUrl: values["database-url"],
  };
}

// pg's connection settings: from --database-url, else from the PG* variables, which pg reads by
// itself. A URL goes to pg as it is; libpq key=value pairs are translated (dbname → database).
function pgConnection(url) {
  if (url === undefined) return {};
  if (!/^\s*\w+\s*=/.test(url)) return { connectionString: url };
  const cfg = {};
  for (const m of url.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    let v = m[2];
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    const key = { dbname: "database" }[m[1]] || m[1];
    cfg[key] = key === "port" ? Number(v) : v;
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// Tokens (server/auth/token.c)

const TOKEN_LEN = 53;
const TOKEN_PREFIX_LEN = 4;
const RANDOM_LEN = 43;
const CHECKSUM_LEN = 6;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62_BODY = /^[0-9A-Za-z]{49}$/;
const TOKEN_SESSION = "session";
const TOKEN_PAT = "pat";
const KINDS = new Map([["rns_", TOKEN_SESSION], ["rnp_", TOKEN_PAT]]);

const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

// CRC-32 (IEEE, as zlib's) of the token's first 47 characters, as 6 base62 digits.
function checksum(token) {
  let crc = 0xffffffff;
  for (let i = 0; i < TOKEN_PREFIX_LEN + RANDOM_LEN; i++) {
    crc = CRC_TABLE[(crc ^ token.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  }
  crc = ~crc >>> 0;
  let out = "";
  for (let i = 0; i < CHECKSUM_LEN; i++) {
    out = BASE62[crc % 62] + out;
    crc = Math.floor(crc / 62);
  }
  return out;
}

// The kind of a well-formed session or personal access token, else null. Header values reach
// Node as latin1, one character per byte, so lengths are runosd's strlen.
function tokenKind(token) {
  if (token.length !== TOKEN_LEN || !BASE62_BODY.test(token.slice(TOKEN_PREFIX_LEN))) return null;
  if (checksum(token) !== token.slice(TOKEN_PREFIX_LEN + RANDOM_LEN)) return null;
  return KINDS.get(token.slice(0, TOKEN_PREFIX_LEN)) || null;
}

// ---------------------------------------------------------------------------------------------
// Identifiers, roles and times

const SHORT_ID = /^[a-z][a-z0-9]{3}[a-z]$/; // idalloc_is_short_id
const CID = /^[a-z][a-z0-9]{2}$/; // idalloc_is_cid
const ROLES = { viewer: 1, member: 2, admin: 3, owner: 4 }; // ROLE_NONE = 0
const ROLE_NONE = 0;

// api_time: seconds precision in UTC, "2026-11-25T19:00:00Z"; 0 is null.
function apiTime(us) {
  if (us === 0) return null;
  return new Date(Math.floor(us / 1e6) * 1000).toISOString().slice(0, 19) + "Z";
}

// ---------------------------------------------------------------------------------------------
// Database

const opts = options(process.argv.slice(2));
const pool = new pg.Pool({
  ...pgConnection(opts.databaseUrl),
  max: opts.pool,
  // runosd waits at most 2 s for a free connection (ACQUIRE_WAIT_MS) and 2 s for a connect
  // (connect_timeout), and keeps its connections open: pg's default would close idle ones
  // after 10 s.
  connectionTimeoutMillis: 2000,
  idleTimeoutMillis: 0,
  application_name: "runosd-bench-fastify",
});
// An idle client whose server went away: pg drops it from the pool; the next query opens another.
pool.on("error", (err) => warn(`idle connection: ${err.message}`));

// What runosd's classify() makes of a failed statement, logged once: "unavailable" (no answer
// from PostgreSQL, SQLSTATE class 08 or 57P; also a serialisation failure or deadlock, which
// runosd answers 503 outside a transaction), else "error" (500).
function dbFailure(err, stmt) {
  const code = err instanceof pg.DatabaseError ? err.code : null;
  if (!code || code.startsWith("08") || code.startsWith("57P")) {
    warn(`database unavailable during ${stmt.name}: ${code || err.message}`);
    return "unavailable";
  }
  if (code === "40001" || code === "40P01") return "unavailable";
  warn(`database error in ${stmt.name}: SQLSTATE ${code}: ${err.message}`);
  return "error";
}

// A named prepared query (prepared by pg once per connection, on its first use there). Rows
// are arrays: the statements have columns of the same name (aid, role, count, int8).
function query(stmt, values) {
  return pool.query({ name: stmt.name, text: stmt.text, values, rowMode: "array" });
}

// db_credentials_lookup: the credential of a token hash, or null when there is none.
async function credentialsLookup(kind, hashHex) {
  const stmt = kind === TOKEN_PAT ? STMT_CREDENTIALS_PAT : STMT_CREDENTIALS_SESSION;
  let rows;
  try {
    // bytea in its text form, as runosd's db_bytea_param sends it.
    ({ rows } = await query(stmt, [`\\x${hashHex}`]));
  } catch (err) {
    dbFailure(err, stmt); // runosd answers any failure here 503 (AUTH_UNAVAILABLE)
    throw err;
  }
  if (rows.length === 0) return null;
  const first = rows[0];
  const cred = {
    kind,
    id: first[0],
    uid: first[1],
    keyAid: first[2] || "",
    keyRole: kind === TOKEN_PAT ? ROLES[first[3]] || ROLE_NONE : ROLE_NONE,
    expiresUs: Number(first[4]),
    revokedUs: Number(first[5]),
    memberships: [],
  };
  for (const row of rows) {
    if (row[6] !== null && ROLES[row[7]]) {
      cred.memberships.push({ aid: row[6], role: ROLES[row[7]] });
    }
  }
  return cred;
}

// ---------------------------------------------------------------------------------------------
// Authentication (server/auth/authenticate.c)

const cache = new Map(); // SHA-256 in hex → { fetchedMs, cred }

// Stores cred for key (replacing an older entry); when full, first drops the stale entries.
function cachePut(key, cred, nowMs) {
  if (cache.size >= AUTH_CACHE_MAX) {
    for (const [k, e] of cache) if (nowMs - e.fetchedMs >= AUTH_CACHE_TTL_MS) cache.delete(k);
  }
  cache.set(key, { fetchedMs: nowMs, cred });
}

// fill_principal: the caller's role in aid.
function roleIn(cred, aid) {
  if (cred.kind === TOKEN_PAT && aid !== cred.keyAid) return ROLE_NONE;
  let role = ROLE_NONE;
  for (const m of cred.memberships) {
    if (m.aid === aid) {
      role = m.role;
      break;
    }
  }
  return cred.kind === TOKEN_PAT ? Math.min(role, cred.keyRole) : role;
}

// auth_authenticate: { result, cred, role } where result is "ok", "missing", "malformed",
// "unknown", "expired", "revoked" or "unavailable".
async function authenticateToken(authorization, aid) {
  if (!authorization) return { result: "missing" };
  if (authorization.length < 7 || authorization.slice(0, 7).toLowerCase() !== "bearer ") {
    return { result: "malformed" };
  }
  let start = 7;
  while (authorization[start] === " ") start++;
  const token = authorization.slice(start);
  const kind = tokenKind(token);
  if (!kind) return { result: "malformed" };

  const key = crypto.createHash("sha256").update(token, "latin1").digest("hex");
  const nowMs = performance.now();
  const hit = cache.get(key);
  let cred = hit && nowMs - hit.fetchedMs < AUTH_CACHE_TTL_MS ? hit.cred : null;
  // A session asking for an account its cached memberships lack is read again at once.
  if (cred && cred.kind === TOKEN_SESSION && roleIn(cred, aid) === ROLE_NONE) cred = null;
  if (!cred) {
    try {
      cred = await credentialsLookup(kind, key);
    } catch {
      return { result: "unavailable" };
    }
    if (!cred) return { result: "unknown" };
    cachePut(key, cred, nowMs);
  }
  let result = "ok";
  if (cred.revokedUs) result = "revoked";
  else if (cred.expiresUs <= Date.now() * 1000) result = "expired";
  return { result, cred, role: roleIn(cred, aid) };
}

// ---------------------------------------------------------------------------------------------
// Replies (server/http/request.c, reply.c, dispatch.c)

// request_error: {error, code, traceId} and the members of extra.
function replyError(reply, status, code, message, extra) {
  const body = { error: message, code, traceId: reply.request.id };
  if (extra) Object.assign(body, extra);
  if (status === 503) reply.header("retry-after", "1");
  return reply.code(status).send(body);
}

function replyUnavailable(reply) {
  return replyError(reply, 503, "db.unavailable", "The database is unavailable; retry shortly");
}

// An incoming X-Request-Id is kept when it is short and plain (assign_trace_id); else a random
// one (randomUUID draws from a cached block of entropy: no CSPRNG call per request).
const PLAIN_TRACE_ID = /^[A-Za-z0-9._-]{8,64}$/;
function traceId(raw) {
  const given = raw.headers["x-request-id"];
  if (given !== undefined && PLAIN_TRACE_ID.test(given)) return given;
  return crypto.randomUUID().replaceAll("-", "");
}

// The headers of every answer (http_queue_reply).
function commonHeaders(request, reply, done) {
  reply.header("x-request-id", request.id);
  reply.header("cache-control", "no-store");
  reply.header("x-content-type-options", "nosniff");
  done();
}

// The route's access: ROUTE_ACCOUNT, minimum role viewer (authorize in dispatch.c).
async function authorize(request, reply) {
  const aid = request.params.aid;
  if (!SHORT_ID.test(aid)) {
    return replyError(reply, 404, "account.not_found", `Account ${aid} not found`);
  }
  const auth = await authenticateToken(request.headers.authorization, aid);
  if (auth.result === "unavailable") return replyUnavailable(reply);
  if (auth.result !== "ok") {
    const extra = { reason: auth.result };
    if (auth.result === "expired") extra.expiredAt = apiTime(auth.cred.expiresUs);
    if (auth.result === "revoked") extra.revokedAt = apiTime(auth.cred.revokedUs);
    reply.header("www-authenticate", "Bearer");
    return replyError(reply, 401, "auth.invalid_token", "Invalid token", extra);
  }
  // Never 403 across tenants: another account does not exist for the caller. Viewer is the
  // lowest role, so any role passes the route's minimum.
  if (auth.role === ROLE_NONE) {
    return replyError(reply, 404, "account.not_found", `Account ${aid} not found`);
  }
  request.principal = auth;
}

// cluster_to_json, member for member.
function clusterToJson(row) {
  const index = row[3];
  const domain = row[4];
  return {
    cid: row[0],
    name: row[1],
    description: row[2],
    domain,
    status: row[5],
    configured: row[6],
    clusterIndex: index,
    vpnCidr: `172.24.${index}.0/24`,
    vip: `172.24.${index}.254`,
    k8sApiUrl: `https://k8s.${domain}:6446`,
    nodeCounts: { total: Number(row[10][0]), online: Number(row[10][1]), offline: Number(row[10][2]) },
    conditions: JSON.parse(row[11]).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionAt: apiTime(Number(c.lastTransitionUs)),
    })),
    createdAt: apiTime(Number(row[8])),
    updatedAt: apiTime(Number(row[9])),
  };
}

const clusterSchema = {
  type: "object",
  required: [
    "cid", "name", "description", "domain", "status", "configured", "clusterIndex", "vpnCidr",
    "vip", "k8sApiUrl", "nodeCounts", "conditions", "createdAt", "updatedAt",
  ],
  properties: {
    cid: { type: "string" },
    name: { type: "string" },
    description: { type: "string" },
    domain: { type: "string" },
    status: { type: "string" },
    configured: { type: "boolean" },
    clusterIndex: { type: "integer" },
    vpnCidr: { type: "string" },
    vip: { type: "string" },
    k8sApiUrl: { type: "string" },
    nodeCounts: {
      type: "object",
      required: ["total", "online", "offline"],
      properties: {
        total: { type: "integer" },
        online: { type: "integer" },
        offline: { type: "integer" },
      },
    },
    conditions: {
      type: "array",
      items: {
        type: "object",
        required: ["type", "status", "reason", "message", "lastTransitionAt"],
        properties: {
          type: { type: "string" },
          status: { type: "string" },
          reason: { type: "string" },
          message: { type: "string" },
          lastTransitionAt: { type: ["string", "null"] },
        },
      },
    },
    createdAt: { type: ["string", "null"] },
    updatedAt: { type: ["string", "null"] },
  },
};

function clusterNotFound(reply, cid) {
  return replyError(reply, 404, "cluster.not_found", `Cluster ${cid} not found`);
}

// api_clusters_get.
async function getCluster(request, reply) {
  const { aid, cid } = request.params;
  if (!CID.test(cid)) return clusterNotFound(reply, cid);
  let rows;
  try {
    ({ rows } = await query(STMT_CLUSTERS_GET, [aid, cid]));
  } catch (err) {
    if (dbFailure(err, STMT_CLUSTERS_GET) === "unavailable") return replyUnavailable(reply);
    return replyError(reply, 500, "internal", "Internal error");
  }
  if (rows.length !== 1) return clusterNotFound(reply, cid);
  reply.header("etag", `"v${rows[0][7]}"`);
  return clusterToJson(rows[0]);
}

// ---------------------------------------------------------------------------------------------
// Server

async function main() {
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end().catch(() => {});
    fail(2, `the database cannot be reached: ${err.message}`);
  }

  const app = Fastify({ logger: false, genReqId: traceId });
  app.decorateRequest("principal", null);
  app.addHook("onRequest", commonHeaders);
  app.get(
    "/:aid/clusters/:cid",
    { onRequest: authorize, schema: { response: { 200: clusterSchema } } },
    getCluster,
  );
  app.setNotFoundHandler((request, reply) => {
    const path = request.raw.url.split("?")[0];
    return replyError(reply, 404, "route.not_found", `No route for ${request.method} ${path}`);
  });
  // Whatever else fails (a bug, a malformed request Fastify refuses) keeps runosd's shape.
  app.setErrorHandler((err, request, reply) => {
    const status = err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) warn(err.stack || String(err));
    return replyError(reply, status, status === 500 ? "internal" : "request.invalid",
      status === 500 ? "Internal error" : err.message);
  });

  try {
    await app.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    await pool.end().catch(() => {});
    fail(1, `cannot listen on ${opts.host}:${opts.port}: ${err.message}`);
  }
  process.stdout.write(
    `listening on http://${opts.host}:${app.server.address().port} (pool ${opts.pool})\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await pool.end();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
