"""The null insert app: the ceiling of a send on this stack (Flask + gunicorn gevent + a psycopg pool).

One ``INSERT … RETURNING`` into the real ``messages`` table per POST, nothing else: no auth query, no
membership check, no outbox, no relay. It serves the app's send path and request shape
(``POST /api/v1/conversations/<id>/messages`` with ``{body, client_id, metadata}`` and
``Authorization: Bearer <sender's user id>``), so the same load generator (``bench/sender.py``) drives it at
the same concurrency as the app. ``seq`` comes from the sequence ``bench.seq`` (as in the pgbench
baseline), so its rows never collide with the app's.

Started by ``bench.services.NullInsertApp`` with ``bench/nullinsert_conf.py``: the settings of
``gunicorn.conf.py`` (workers, worker_class, worker_connections, keepalive, access log…) without its hooks,
which would start the app's relay. The pool is made in each worker, after gevent has patched it, with the
app's pool size (``DATABASE_POOL_SIZE``, the same overflow).
"""
import json
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
_pool = None

INSERT = """
insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, client_id, created_at)
values (gen_random_uuid(), %s, nextval('bench.seq'), %s, 'text', %s, %s::jsonb, %s, now())
returning id, conversation_id, seq, sender_id, kind, body, metadata, client_id, created_at
"""
FIELDS = ("id", "conversation_id", "seq", "sender_id", "kind", "body", "metadata", "client_id", "created_at")


def pool():
    global _pool
    if _pool is None:
        from psycopg_pool import ConnectionPool
        size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
        _pool = ConnectionPool(os.environ["NULLINSERT_DATABASE_URL"], min_size=size, max_size=2 * size,
                               kwargs={"autocommit": True}, open=True, name="null-insert")
    return _pool


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.post("/api/v1/conversations/<conversation_id>/messages")
def send(conversation_id):
    data = request.get_json(silent=True) or {}
    sender = request.headers.get("Authorization", "")[len("Bearer "):].strip()
    with pool().connection() as conn:
        row = conn.execute(INSERT, (conversation_id, sender, data.get("body", ""),
                                    json.dumps(data.get("metadata") or {}), data.get("client_id"))).fetchone()
    message = dict(zip(FIELDS, row, strict=True))
    for key in ("id", "conversation_id", "sender_id"):
        message[key] = str(message[key])
    message["created_at"] = message["created_at"].isoformat()
    message.update(attachments=[], edited_at=None, deleted_at=None)
    return jsonify(message), 201
