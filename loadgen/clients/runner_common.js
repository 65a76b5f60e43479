// What the Node runners of the client view share (Node's standard library only; required from
// beside them): the spec, the history file in the recorder's format, the operations (unique-key
// writes and a few counters, keys the recorder's way), the pace, and the stop on SIGTERM.
"use strict";
const fs = require("fs");

const TAG_COUNT = 1024;
const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = fs.openSync(spec.history, "a");
let index = 0;
let stopping = false;

function now() {
  return Number(process.hrtime.bigint()) / 1e9; // CLOCK_MONOTONIC, as the harness's time.monotonic()
}

function record(type, processId, f, key, value, error) {
  const elapsed = now() - spec.t0;
  const line = JSON.stringify({
    index: index++, time: Number(elapsed.toFixed(6)), wall: Number((spec.wall0 + elapsed).toFixed(6)), type,
    process: processId, f, key, value: value === undefined ? null : value, node: null, error: error || null,
  });
  fs.writeSync(out, line + "\n");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function operation(n, seq) {
  const me = spec.index, run = spec.run_id;
  const counters = spec.counters || 4, every = spec.incr_every || 10;
  if (seq % every === every - 1) {
    const c = (n * 31 + seq) % counters;
    return ["incr", `chaos:{t${(c * 257 + me) % TAG_COUNT}}:${run}:c${me}ctr:${c}`, null];
  }
  return ["write", `chaos:{t${(n * 7919 + seq + me * 211) % TAG_COUNT}}:${run}:c${me}w${n}:${seq}`, `c${me}w${n}:${seq}`];
}

// One worker: every call one recorded operation, `ok` when its promise resolved, `info` when it
// rejected (it may have been applied), with the error's class and message as the application sees them.
async function worker(n, client) {
  const interval = (spec.workers / spec.rate) * 1000;
  let seq = 0, nextAt = Date.now();
  while (!stopping) {
    const [f, key, value] = operation(n, seq++);
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

function seeds() {
  return spec.seeds.map((s) => {
    const at = s.lastIndexOf(":");
    return { host: s.slice(0, at), port: Number(s.slice(at + 1)) };
  });
}

// Make the client (`connect()`, may be async), start the workers, say "ready"; on SIGTERM stop
// invoking, wait up to drain_seconds, exit: calls pending inside the library stay open in the history.
async function run(connect) {
  let client;
  try {
    client = await connect(seeds(), process.env.CHAOS_REDIS_PASSWORD || undefined, spec.settings || {});
  } catch (err) {
    process.stderr.write(`could not create the client: ${err && err.constructor && err.constructor.name}: ${err && err.message}\n`);
    process.exit(3);
  }
  const loops = [];
  for (let n = 0; n < spec.workers; n++) loops.push(worker(n, client));
  process.stdout.write("ready\n");
  const stop = () => {
    if (stopping) return;
    stopping = true;
    Promise.race([Promise.all(loops), sleep((spec.drain_seconds || 1) * 1000)]).then(() => {
      fs.fsyncSync(out);
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  // the harness that started this runner is gone (killed): stop, as the load processes do
  setInterval(() => { if (spec.parent && process.ppid !== spec.parent) stop(); }, 200).unref();
}

module.exports = { run };
