// The client view through ioredis's Cluster, with the library's defaults, on Node's own event
// loop: `workers` concurrent loops share one Cluster client, as an application's handlers do.
//
// Run by chaos.appclients as `node ioredis.js SPEC.json` with the pinned ioredis on NODE_PATH.
// The spec names the seeds, the run id, this client's index, the run's clock origin (seconds of
// CLOCK_MONOTONIC, which process.hrtime reads too), the pace and the history file; the password
// (if any) comes from CHAOS_REDIS_PASSWORD. On SIGTERM the loops stop invoking; calls still
// pending inside the library stay open in the history. Every call is one recorded operation:
// `ok` when its promise resolved, `info` when it rejected (it may have been applied), with the
// error's class and message as the application sees them.
"use strict";
const fs = require("fs");
const Redis = require("ioredis");

const TAG_COUNT = 1024;
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = fs.openSync(spec.history, "a");
let index = 0;
let stopping = false;

function now() {
  return Number(process.hrtime.bigint()) / 1e9;
}

function record(type, processId, f, key, value, error, at) {
  const elapsed = (at === undefined ? now() : at) - spec.t0;
  const line = JSON.stringify({
    index: index++, time: Number(elapsed.toFixed(6)), wall: Number((spec.wall0 + elapsed).toFixed(6)), type,
    process: processId, f, key, value: value === undefined ? null : value, node: null, error: error || null,
  });
  fs.writeSync(out, line + "\n");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(n, client) {
  const me = spec.index, run = spec.run_id;
  const interval = (spec.workers / spec.rate) * 1000;
  const counters = spec.counters || 4, incrEvery = spec.incr_every || 10;
  let seq = 0, nextAt = Date.now();
  while (!stopping) {
    let f, key, value;
    if (seq % incrEvery === incrEvery - 1) {
      const c = (n * 31 + seq) % counters;
      f = "incr"; key = `chaos:{t${(c * 257 + me) % TAG_COUNT}}:${run}:c${me}ctr:${c}`; value = null;
    } else {
      f = "write"; key = `chaos:{t${(n * 7919 + seq + me * 211) % TAG_COUNT}}:${run}:c${me}w${n}:${seq}`; value = `c${me}w${n}:${seq}`;
    }
    seq++;
    record("invoke", n, f, key, value, null);
    try {
      const reply = f === "incr" ? await client.incr(key) : await client.set(key, value);
      record("ok", n, f, key, f === "incr" ? reply : value, null);
    } catch (err) {
      const name = (err && err.constructor && err.constructor.name) || "Error";
      record("info", n, f, key, value, `${name}: ${err && err.message}`.slice(0, 300));
    }
    nextAt = Math.max(nextAt + interval, Date.now());
    await sleep(Math.max(0, nextAt - Date.now()));
  }
}

function main() {
  const seeds = spec.seeds.map((s) => {
    const at = s.lastIndexOf(":");
    return { host: s.slice(0, at), port: Number(s.slice(at + 1)) };
  });
  const password = process.env.CHAOS_REDIS_PASSWORD || undefined;
  const client = new Redis.Cluster(seeds, password ? { redisOptions: { password } } : {});
  client.on("error", () => {}); // ioredis emits connection errors as events; calls still see theirs
  const loops = [];
  for (let n = 0; n < spec.workers; n++) loops.push(worker(n, client));
  process.stdout.write("ready\n");
  process.on("SIGTERM", () => {
    stopping = true;
    const done = Promise.all(loops);
    Promise.race([done, sleep((spec.drain_seconds || 1) * 1000)]).then(() => {
      fs.fsyncSync(out);
      process.exit(0); // calls pending inside the library are left as the application would have them
    });
  });
}

main();
