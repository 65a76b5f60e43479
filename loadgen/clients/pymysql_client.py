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

from runner_common import Pace, failure, run_threads

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


def worker(n, spec, pymysql, history, stop):
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
                                       autocommit=True, **(m.get("tls") or {}))
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


def make(_spec):
    import pymysql  # a connection per worker, made by the worker; here only the library, loaded once

    return pymysql


if __name__ == "__main__":
    run_threads(worker, make)
