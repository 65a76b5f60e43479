"""The client view through PyMySQL, with the library's defaults (10 s connect timeout, no read or
write timeout, no reconnect), on plain threads with a connection each, as a threaded application
or a connection pool has them.

Run by :mod:`chaos.appclients` as ``python -S pymysql_client.py SPEC.json`` with only the pinned
PyMySQL on ``PYTHONPATH``. The spec names the source (and, on source-kill, the endpoint file the
harness rewrites when it promotes the replica: a worker reads it when it connects, as it would
resolve a virtual IP or go through a proxy), the user, the database and the id range; the
password comes from ``CHAOS_MYSQL_PASSWORD``. After an error a worker drops its connection and
opens a new one for its next insert (PyMySQL does not reconnect by itself); the connect is part
of that insert's call, as the application would wait for it.

Every insert is one recorded operation (``f = "insert"``, key = the row id): ``ok`` when the
library returned, ``info`` when it raised (it may have been committed)."""

import json
import os
import signal
import sys
import threading
import time

from runner_common import History, Pace, failure, load_spec

ID_SPACE = 10**9  # as loadgen.mysql_workload: row id = the run's base + user * ID_SPACE + seq
FIRST_USER = 900  # the load's users are numbered from 0; the clients' workers from here (16 per client)


def endpoint(m):
    path = m.get("endpoint_file")
    if path:
        try:
            with open(path) as f:
                e = json.load(f)
            return e["host"], int(e["port"])
        except (OSError, ValueError, KeyError):
            pass
    return m["host"], int(m["port"])


def worker(n, spec, history, stop):
    import pymysql

    m = spec["mysql"]
    user = FIRST_USER + spec["index"] * 16 + n
    table = f"`{m['database']}`.items"
    pace, seq, conn = Pace(spec), 0, None
    while not stop.is_set():
        row_id = m["id_base"] + user * ID_SPACE + seq
        value = f"c{spec['index']}w{n}:{seq}"
        seq += 1
        history.record("invoke", n, "insert", str(row_id), value)
        try:
            if conn is None:
                host, port = endpoint(m)
                conn = pymysql.connect(host=host, port=port, user=m["user"],
                                       password=os.environ.get("CHAOS_MYSQL_PASSWORD", ""), database=m["database"],
                                       autocommit=True)
            with conn.cursor() as cur:
                cur.execute(f"INSERT INTO {table} (id, value) VALUES (%s, %s)", (row_id, value))
            outcome, error = "ok", None
        except Exception as exc:  # what reaches the application: it may have been committed
            outcome, error = "info", failure(exc)
            try:
                if conn is not None:
                    conn.close()
            except Exception:
                pass
            conn = None
        history.record(outcome, n, "insert", str(row_id), value, error)
        stop.wait(pace.delay())


def main():
    spec = load_spec()
    history = History(spec)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        import pymysql  # noqa: F401
    except Exception as exc:
        print(f"could not load PyMySQL: {failure(exc)}", file=sys.stderr)
        sys.exit(3)
    threads = [threading.Thread(target=worker, args=(n, spec, history, stop), daemon=True)
               for n in range(spec["workers"])]
    for t in threads:
        t.start()
    print("ready", flush=True)
    while not stop.is_set():
        stop.wait(0.2)
    deadline = time.monotonic() + spec.get("drain_seconds", 1.0)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    history.out.flush()
    os._exit(0)  # threads blocked inside the library are left as the application would have them


if __name__ == "__main__":
    main()
