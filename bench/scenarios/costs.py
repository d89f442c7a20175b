"""What one request costs, counted in-process: SQL statements, and Python CPU time per call.

Noise from other processes barely moves these (they are counts, and CPU time of this process only), so
they explain the throughput figures: a send that takes N round trips to Postgres cannot beat 1/N of
pgbench's single-insert rate on the same cores. Requests go through the Flask test client with a bearer
token (the whole app stack but gunicorn and the network); the relay is called directly.
"""
import time

import sqlalchemy as sa


class Counter:
    """Counts the statements an engine executes while ``active``."""

    def __init__(self, engine):
        self.count, self.active, self.kinds = 0, False, {}
        sa.event.listen(engine, "before_cursor_execute", self._on_execute)
        sa.event.listen(engine, "begin", self._on_begin)
        sa.event.listen(engine, "commit", self._on_commit)

    def _bump(self, kind):
        if self.active:
            self.count += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def _on_execute(self, _conn, _cursor, statement, *_args):
        self._bump(statement.split(None, 1)[0].lower())

    def _on_begin(self, _conn):
        self._bump("begin")

    def _on_commit(self, _conn):
        self._bump("commit")


def _measure(counter, fn, calls):
    """Mean statements (BEGIN and COMMIT included), Python CPU ms and wall ms per call of ``fn``."""
    fn()  # warm caches (compiled SQL, prepared statements)
    counter.count, counter.kinds, counter.active = 0, {}, True
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    counter.active = False
    return {"statements": round(counter.count / calls, 2),
            "by_kind": {k: round(v / calls, 2) for k, v in sorted(counter.kinds.items())},
            "cpu_ms": round(cpu / calls * 1000, 3), "wall_ms": round(wall / calls * 1000, 3), "calls": calls}


def run(run, database_url, redis_url, data, calls=100):
    from chat import create_app
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "TESTING": True, "DELIVERY_SYNC": True})
    relay = app.extensions.pop("chat.relay")  # publish explicitly below, so sends and publishing count apart
    counter = Counter(app.extensions["chat.db"].engine)
    client = app.test_client()
    (cid, (alice, _bob)) = data["send_pairs"][0]
    small_id, small = data["small_groups"][0]
    fan_id, fan = data["fanout_id"], data["fanout_members"]
    n = [0]

    def get(path, token):
        def call():
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, (path, response.status_code)
        return call

    def post(conversation_id, sender):
        def call():
            n[0] += 1
            body = {"body": f"cost {n[0]}", "client_id": f"cost-{conversation_id[:8]}-{n[0]}"}
            response = client.post(f"/api/v1/conversations/{conversation_id}/messages", json=body,
                                   headers={"Authorization": f"Bearer {sender['token']}"})
            assert response.status_code == 201, response.get_data(as_text=True)
        return call

    def send_and_publish(conversation_id, sender):
        send = post(conversation_id, sender)

        def call():
            counter.active = False
            send()
            counter.active = True
            with app.app_context():
                relay.publish_pending()
        return call

    costs = {}
    with app.app_context():
        relay.publish_pending()  # anything left from earlier scenarios
    costs["auth_only: GET /api/v1/me"] = _measure(counter, get("/api/v1/me", alice["token"]), calls)
    costs["send: POST /conversations/{id}/messages (direct)"] = _measure(counter, post(cid, alice), calls)
    costs["relay: publish one message to a direct conversation (2 members)"] = _measure(
        counter, send_and_publish(cid, alice), calls)
    costs[f"relay: publish one message to a group of {len(small)}"] = _measure(
        counter, send_and_publish(small_id, small[0]), calls)
    costs[f"relay: publish one message to a group of {len(fan)}"] = _measure(
        counter, send_and_publish(fan_id, fan[0]), max(3, calls // 20))
    typists = iter(fan * 2)

    def typing():
        typist = next(typists)  # another member each time: nobody is held back by the typing throttle
        response = client.post(f"/api/v1/conversations/{fan_id}/typing",
                               headers={"Authorization": f"Bearer {typist['token']}"})
        assert response.status_code == 204, response.status_code
    costs[f"typing: POST /conversations/{{id}}/typing in a group of {len(fan)}"] = _measure(
        counter, typing, min(calls, len(fan) - 1))
    history_path = f"/api/v1/conversations/{data['history_id']}/messages?limit=50&before=1000"
    costs["history: GET a page of 50"] = _measure(counter, get(history_path, data["history_reader"]["token"]), calls)
    costs["conversation list: GET /api/v1/conversations (1,000 conversations)"] = _measure(
        counter, get("/api/v1/conversations?limit=50", data["hub"]["token"]), max(5, calls // 5))
    app.extensions["chat.broker"].stop()
    app.extensions["chat.db"].dispose()
    for name, c in costs.items():
        run.log(f"  {name}: {c['statements']} statements, {c['cpu_ms']} ms Python CPU, {c['wall_ms']} ms wall")
    return {"per_call": costs}
