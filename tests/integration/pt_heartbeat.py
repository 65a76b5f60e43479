"""percona-toolkit's pt-heartbeat beside a run, as an independent witness of replication lag:
``--update`` on the source every 0.2 s, and ``--check`` against the replica in a loop (one
reading each time it returns, stamped with the wall clock). Credentials go through a defaults
file (0600), never the command line."""

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

TABLE = "pt_heartbeat"


def binary() -> str:
    found = shutil.which("pt-heartbeat")
    if found is None:
        pytest.fail("pt-heartbeat is not installed; run ./scripts/setup (apt: percona-toolkit)")
    return found


def defaults_file(path: Path, host: str, port: int, user: str, password: str) -> Path:
    path.write_text(f"[client]\nhost={host}\nport={port}\nuser={user}\npassword={password}\n")
    path.chmod(0o600)
    return path


class Witness:
    """pt-heartbeat updating the source and checking the replica until :meth:`stop`."""

    def __init__(self, where: Path, source: tuple[str, int], replica: tuple[str, int], user: str, password: str,
                 database: str, source_server_id: int):
        self.source_cnf = defaults_file(where / "pt-source.cnf", *source, user, password)
        self.replica_cnf = defaults_file(where / "pt-replica.cnf", *replica, user, password)
        self.database, self.server_id = database, source_server_id
        # the table and its row made here, transactional, before pt-heartbeat starts: it then only
        # updates the row. Its own first INSERT, replayed by a replica's SQL thread, was seen in CI
        # to stop replication with a duplicate key (error 1062) before the run began.
        import pymysql

        conn = pymysql.connect(host=source[0], port=source[1], user=user, password=password, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE TABLE IF NOT EXISTS `{database}`.{TABLE} (ts varchar(26) NOT NULL, server_id int "
                            "unsigned NOT NULL PRIMARY KEY, file varchar(255) DEFAULT NULL, position bigint unsigned "
                            "DEFAULT NULL, relay_master_log_file varchar(255) DEFAULT NULL, exec_master_log_pos bigint "
                            "unsigned DEFAULT NULL) ENGINE=InnoDB")
                cur.execute(f"INSERT IGNORE INTO `{database}`.{TABLE} (ts, server_id) VALUES (UTC_TIMESTAMP(6), %s)",
                            (source_server_id,))
        finally:
            conn.close()
        # (wall time the check began, when it returned, lag in s or None: no answer)
        self.readings: list[tuple[float, float, float | None]] = []
        self._stop = threading.Event()
        self._update = subprocess.Popen(
            [binary(), f"--defaults-file={self.source_cnf}", "--update", "--database", database, "--table", TABLE,
             "--create-table", "--interval", "0.2", "--utc"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._check_loop, daemon=True)
        self._thread.start()

    def _check_loop(self) -> None:
        while not self._stop.is_set():
            started = time.time()
            done = subprocess.run(
                [binary(), f"--defaults-file={self.replica_cnf}", "--check", "--database", self.database, "--table",
                 TABLE, "--master-server-id", str(self.server_id), "--utc"], capture_output=True, text=True,
                check=False)
            try:
                lag = float(done.stdout.strip()) if done.returncode == 0 else None
            except ValueError:
                lag = None
            self.readings.append((started, time.time(), lag))
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._update.terminate()
        self._update.wait(10)

    def interval(self) -> float:
        """The longest gap between two readings (the witness's own sampling bound)."""
        times = [end for _, end, _ in self.readings]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)
