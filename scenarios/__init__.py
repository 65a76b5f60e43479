"""One module per scenario. SCENARIOS maps a name to its module, which has SUMMARY (one line)
and ``command`` (the Click command `chaos run NAME`)."""

from types import ModuleType

from scenarios import master_kill

SCENARIOS: dict[str, ModuleType] = {master_kill.NAME: master_kill}
