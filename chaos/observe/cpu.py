"""CPU used by processes and by a Redis server's main thread, to tell whether the load generator
or the servers were the limit of a run."""

from __future__ import annotations

import os
from pathlib import Path

from chaos.clients.resp import Connection, RespError
from chaos.topology.redis_info import parse_info


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, in seconds (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(address: str) -> float | None:
    """CPU seconds of a Redis server's main thread (``INFO cpu``), None when it does not answer."""
    host, _, port = address.rpartition(":")
    conn = Connection(host, int(port), timeout=2)
    try:
        info = parse_info(conn.call("INFO", "cpu").decode())
    except RespError:
        return None
    finally:
        conn.close()
    return float(info.get("used_cpu_user_main_thread", info.get("used_cpu_user", 0))) + \
        float(info.get("used_cpu_sys_main_thread", info.get("used_cpu_sys", 0)))


def saturation(generator_cores: float, processes: int, server_cores: dict[str, float]) -> dict[str, object]:
    """Who was the limit (pure): the load generator when its processes used ≥ 90 % of a core each
    while no server's main thread reached 90 % of one."""
    busiest = max(server_cores.values(), default=0.0)
    generator_bound = generator_cores >= 0.9 * processes and busiest < 0.9
    return {"generator_cores": round(generator_cores, 3), "load_processes": processes,
            "server_main_thread_cores": {k: round(v, 3) for k, v in server_cores.items()},
            "generator_saturated": generator_bound}
