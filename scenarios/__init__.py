"""One module per scenario. SCENARIOS maps a name to its module, which has SUMMARY (one line)
and ``command`` (the Click command `chaos run NAME`)."""

from types import ModuleType

from scenarios import master_kill, replica_stop

SCENARIOS: dict[str, ModuleType] = {m.NAME: m for m in (master_kill, replica_stop)}
