// The client view through node-redis's createCluster, with the library's defaults, on Node's own
// event loop: `workers` concurrent loops share one cluster client, as an application's handlers do.
// Run by chaos.appclients as `node node_redis.js SPEC.json` with the pinned `redis` on NODE_PATH;
// the spec, the history, the pace and the stop are runner_common.js's.
"use strict";
const { createCluster } = require("redis");
const { run } = require("./runner_common.js");

run(async (seeds, password, settings) => {
  const rootNodes = seeds.map((s) => ({ url: `redis://${s.host}:${s.port}` }));
  const client = createCluster({ rootNodes, ...(password ? { defaults: { password } } : {}), ...settings });
  client.on("error", () => {}); // emitted per connection problem; calls still see theirs
  await client.connect();
  return client;
});
