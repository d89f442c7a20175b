"""Benchmark data, made through the action layer (``chat.actions``) as the app itself would make it.

The exception is the 1M-message conversation of the history scenario: one ``generate_series`` insert,
consistent with the schema (seq 1..N gap-free, ``conversations.last_seq = N``, read marks at N).
"""
import time
from concurrent.futures import ThreadPoolExecutor

PASSWORD = "bench-password-1"


def setup_app(database_url, redis_url):
    """The app object the set-up runs through, with cheap password hashing and no relay.

    Without a relay the set-up's outbox rows stay unpublished (``chat.events.record`` kicks a relay only if
    there is one); ``scenarios.seeding`` marks them published, since no stream existed when they happened.
    """
    from chat import create_app
    app = create_app({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PASSWORD_HASH_COST": "fast",
        "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "TESTING": True, "DATABASE_POOL_SIZE": 8,
    })
    app.extensions.pop("chat.relay", None)
    return app


def _in_threads(app, fn, items, threads=4):
    def call(item):
        with app.app_context():
            return fn(item)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(call, items))


def people(app, count, prefix="bench"):
    """``count`` people, each ``{"key", "id", "token"}`` with a bearer token; signed up by the real action."""
    from chat.actions import accounts

    def one(i):
        user = accounts.sign_up(f"{prefix}{i}@bench.example", f"{prefix}_{i}", PASSWORD, f"Bench {i}")
        return {"key": str(i), "id": user["id"], "token": accounts.issue_token(user["id"])}
    return _in_threads(app, one, range(count))


def groups(app, members_lists, name="bench group"):
    """One group per list of people (the first is the owner); returns the conversation ids."""
    from chat.actions import conversations

    def one(item):
        i, members = item
        return conversations.create_group(members[0]["id"], f"{name} {i}", [p["id"] for p in members[1:]])["id"]
    return _in_threads(app, one, list(enumerate(members_lists)))


def directs(app, pairs):
    """A direct conversation per pair of people; returns the conversation ids."""
    from chat.actions import conversations
    return _in_threads(app, lambda pair: conversations.open_direct(pair[0]["id"], pair[1]["id"])[0]["id"], pairs)


def send_one_each(app, items):
    """``send_message`` once per ``(person, conversation id, body)``."""
    from chat.actions import messages
    return _in_threads(app, lambda it: messages.send_message(it[0]["id"], it[1], it[2])[0]["id"], items)


def bulk_history(database_url, conversation_id, sender_ids, count):
    """Append ``count`` messages to an empty conversation in one statement; return seconds taken."""
    import psycopg
    started = time.monotonic()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """
            insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, client_id,
                                         created_at)
            select gen_random_uuid(), %(cid)s, g, (%(senders)s::uuid[])[1 + g %% cardinality(%(senders)s::uuid[])],
                   'text', 'history message number ' || g || ' with some ordinary chat text in it', '{}'::jsonb,
                   null, now() - interval '1 second' * (%(n)s - g)
            from generate_series(1, %(n)s) as g
            """, {"cid": conversation_id, "senders": sender_ids, "n": count})
        conn.execute("update public.conversations set last_seq = %(n)s, updated_at = now() where id = %(cid)s",
                     {"cid": conversation_id, "n": count})
        conn.execute("update public.memberships set last_read_seq = %(n)s where conversation_id = %(cid)s",
                     {"cid": conversation_id, "n": count})
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze public.messages")
    return time.monotonic() - started


def settle_presence(redis_url, timeout=180):
    """Wait until nobody is online or waiting to be reported offline: the streams a scenario closed have
    lapsed and the app has announced each of them. Returns how many people were still pending."""
    import redis
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = sum(client.zcard(key) for key in client.scan_iter(match="*presence:users", count=1000))
            if left == 0 or time.monotonic() > deadline:
                return left
            time.sleep(0.5)
    finally:
        client.close()


def settle_outbox(database_url, timeout=60):
    """Wait until the relay has published every outbox row the set-up wrote; return how many were left."""
    import psycopg
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            left = conn.execute("select count(*) from public.outbox where published_at is null").fetchone()[0]
            if left == 0 or time.monotonic() > deadline:
                return left
            time.sleep(0.5)
