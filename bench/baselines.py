"""Baselines measured in the same run: the limits of the parts the app is built from.

- ``redis_publish``: ``redis-benchmark`` PUBLISH of a message-sized payload to a channel with one
  subscriber per app worker (as each worker's Pub/Sub reader is).
- ``pgbench_inserts``: ``pgbench`` single-row inserts into the real ``messages`` table (every index and
  constraint of the migrations; as ``postgres``, so no RLS), each client on its own conversation.
- ``null_insert``: the null insert app (``bench.nullinsert``: Flask + the same gunicorn gevent workers + a
  psycopg pool, one ``INSERT … RETURNING`` per POST) driven by the same load generator as the app's sends
  scenario: closed loop at the same concurrency (sends/s), open loop at the same rate (POST latency).
The null SSE server (``bench.nullsse``) is driven by the scenarios themselves, beside the app.
"""
import glob
import os
import re
import subprocess

import psycopg

from .stats import summary_ms

OK_STATUSES = (200, 201, 204)

PAYLOAD = ('{"id":"7b0c7f0e-0000-4000-8000-000000000000","conversation_id":"7b0c7f0e-0000-4000-8000-000000000001",'
           '"seq":1,"sender_id":"7b0c7f0e-0000-4000-8000-000000000002","kind":"text","body":"bench message",'
           '"metadata":{"t":1.0,"s":0},"client_id":"x-1","attachments":[],"created_at":"2026-11-21T10:00:00+00:00",'
           '"edited_at":null,"deleted_at":null}')


def redis_publish(port, subscribers, requests, clients=50):
    """``redis-benchmark`` PUBLISH; returns ``{rps, p50_ms, p99_ms, …}``."""
    subs = [subprocess.Popen(["redis-cli", "-p", str(port), "subscribe", "bench:events"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(subscribers)]
    try:
        out = subprocess.run(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients), "-n", str(requests),
             "--csv", "PUBLISH", "bench:events", PAYLOAD],
            capture_output=True, text=True, timeout=300, check=True).stdout
    finally:
        for sub in subs:
            sub.terminate()
            sub.wait(5)
    header, row = _csv_rows(out)
    fields = dict(zip(header[1:], row, strict=False))
    return {"rps": float(fields["rps"]), "p50_ms": float(fields.get("p50_latency_ms", 0)),
            "p99_ms": float(fields.get("p99_latency_ms", 0)), "max_ms": float(fields.get("max_latency_ms", 0)),
            "clients": clients, "subscribers": subscribers, "requests": requests, "payload_bytes": len(PAYLOAD)}


def _csv_rows(text):
    """Header and last row's numbers: the test name is not CSV-quoted (the payload has quotes in it)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = [cell.strip('"') for cell in lines[0].split(",")]
    return header, re.findall(r'"([0-9.]+)"', lines[-1])[-(len(header) - 1):]


PGBENCH_SCRIPT = """\
insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, client_id, created_at)
select gen_random_uuid(), t.conversation_id, nextval('bench.seq'), t.sender_id, 'text',
       'bench message from pgbench', '{"t": 1.0, "s": 0}'::jsonb, null, now()
from bench.targets t where t.idx = :client_id;
"""


def pgbench_inserts(database_url, targets, clients, seconds, out_dir):
    """``pgbench`` inserts at ``clients`` concurrency; ``targets`` = [(conversation id, sender id)] per client."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("create schema if not exists bench")
        conn.execute("create table if not exists bench.targets (idx int primary key, conversation_id uuid, "
                     "sender_id uuid)")
        conn.execute("truncate bench.targets")
        conn.execute("create sequence if not exists bench.seq start 1000000000")
        with conn.cursor() as cur:
            cur.executemany("insert into bench.targets values (%s, %s, %s)",
                            [(i, c, s) for i, (c, s) in enumerate(targets[:clients])])
    script = os.path.join(out_dir, "pgbench_insert.sql")
    with open(script, "w") as f:
        f.write(PGBENCH_SCRIPT)
    prefix = os.path.join(out_dir, "pgbench_log")
    for old in glob.glob(prefix + "*"):
        os.remove(old)
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
         "-f", script, "-l", "--log-prefix", prefix, database_url],
        capture_output=True, text=True, timeout=seconds + 120, cwd=out_dir)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.strip()}")
    tps = None
    for line in out.stdout.splitlines():
        if line.startswith("tps =") and "without initial connection time" in line:
            tps = float(line.split("=")[1].split()[0])
    latencies = []
    for path in glob.glob(prefix + "*"):
        with open(path) as f:
            latencies += [int(line.split()[2]) / 1e6 for line in f if line.strip()]
        os.remove(path)
    return {"tps": tps, "clients": clients, "seconds": seconds, "latency_ms": summary_ms(latencies),
            "script": PGBENCH_SCRIPT}


def null_insert(run, target, pairs, rate, seconds, concurrency, closed_seconds):
    """The null insert app's sends/s (closed loop) and POST latency at ``rate``/s (open loop).

    ``pairs``: [(conversation id, [a, b])], one per closed-loop client, as the app's sends scenario has.
    """
    target.configure_sender(pairs, pool_size=concurrency)
    closed = run.sender.call("closed_loop", timeout=closed_seconds + 300, concurrency=concurrency,
                             duration=closed_seconds, step=0, prefix="ni-c")
    target.configure_sender(pairs, pool_size=50)
    sent = run.sender.call("open_loop", timeout=seconds + 300, rate=rate, duration=seconds, step=0, prefix="ni-s")
    run.sender.call("close")
    ok = [r for r in sent["results"] if r[2] in OK_STATUSES]
    errors = {}
    for r in sent["results"]:
        if r[2] not in OK_STATUSES:
            errors[str(r[2])] = errors.get(str(r[2]), 0) + 1
    return {"command": target.server.procfile_command, "workers": target.server.worker_count,
            "closed_loop": {"concurrency": concurrency, "seconds": round(closed["seconds"], 2),
                            "sends_per_second": round(len(closed["latencies"]) / closed["seconds"], 1),
                            "post_ms": summary_ms(closed["latencies"]), "errors": closed["errors"]},
            "open_loop": {"rate": rate, "seconds": seconds, "late_starts": sent["late_starts"],
                          "post_ms": summary_ms([r[3] for r in ok]), "send_errors": errors}}
