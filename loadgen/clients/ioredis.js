// The client view through ioredis's Cluster, with the library's defaults, on Node's own event
// loop: `workers` concurrent loops share one Cluster client, as an application's handlers do.
// Run by chaos.appclients as `node ioredis.js SPEC.json` with the pinned ioredis on NODE_PATH;
// the spec, the history, the pace and the stop are runner_common.js's.
"use strict";
const Redis = require("ioredis");
const { run } = require("./runner_common.js");

run((seeds, password, settings) => {
  const client = new Redis.Cluster(seeds, { ...(password ? { redisOptions: { password } } : {}), ...settings });
  client.on("error", () => {}); // ioredis emits connection errors as events; calls still see theirs
  return client;
});
