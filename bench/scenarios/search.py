"""(7) Search: ``GET /api/v1/search`` p99 over ``search_messages`` messages spread over ``search_conversations``
conversations (target: p99 ≤ 50 ms over 1,000,000 in 1,000), for a person who is a member of all of them
(the widest search RLS allows), with words of every frequency:

- ``rare``: a word in one message of the million (``tok<n>``);
- ``medium``: a word in about 1 message of 1,000 (``topic<n>``);
- ``common``: a word in 1 message of 10 (``alpha`` … ``kilo``), so the newest-first order decides the cost;
- ``two_words``: two words that occur together in 1 message of 1,000 (``topic17 hotel``);
- ``accented``: ``resume`` finding ``résumé`` (1 message of 100).

The corpus is made here (only when this scenario runs), with ``generate_series``: the conversations, the
searcher's and a second person's memberships, and the messages (seq gap-free per conversation,
``last_seq`` set). Figures: over HTTP from the app (when a port is given), and the action in-process
(``chat.actions.search.search``, as the user under RLS), with the plan of the common-word query.

``python -m bench.scenarios.search [--messages N] [--conversations N] [--samples N]`` runs it on its own
(in-process figures only) on a fresh database, for a quick look at a small size.
"""
import argparse
import http.client
import json
import time
import urllib.parse

import psycopg

from ..stats import summary_ms

COMMON = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "kilo"]
QUERIES = {"rare": lambda n: f"tok{n // 2 + 1}", "medium": lambda n: "topic17", "common": lambda n: "charlie",
           "two_words": lambda n: f"topic17 {COMMON[17 % 10]}", "accented": lambda n: "resume"}


def seed_corpus(database_url, searcher_id, other_id, conversations, total):
    """``conversations`` groups holding both people and ``total`` messages between them; returns seconds."""
    started = time.monotonic()
    per = total // conversations
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """
            create temporary table bench_search_conversations as
            select gen_random_uuid() as id, c as n from generate_series(1, %(c)s) as c
            """, {"c": conversations})
        conn.execute(
            """
            insert into public.conversations (id, kind, name, created_by, last_seq, created_at, updated_at)
            select id, 'group', 'search ' || n, %(searcher)s, %(per)s, now() - interval '400 days', now()
            from bench_search_conversations
            """, {"searcher": searcher_id, "per": per})
        conn.execute(
            """
            insert into public.memberships (conversation_id, user_id, role, last_read_seq, joined_at)
            select c.id, u.id, case when u.id = %(searcher)s::uuid then 'owner' else 'member' end, %(per)s,
                   now() - interval '400 days'
            from bench_search_conversations c cross join unnest(array[%(searcher)s::uuid, %(other)s::uuid]) as u(id)
            """, {"searcher": searcher_id, "other": other_id, "per": per})
        # Message g (1..total) is in conversation 1 + (g - 1) %% conversations, at seq 1 + (g - 1) / conversations;
        # one every 30 s back from now, so that newest-first interleaves the conversations as in real use.
        conn.execute(
            """
            insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, created_at)
            select gen_random_uuid(), c.id, 1 + (g - 1) / %(c)s,
                   case when g %% 2 = 0 then %(searcher)s::uuid else %(other)s::uuid end, 'text',
                   'note tok' || g || ' about topic' || (g %% 1000) || ' and ' || (%(common)s::text[])[1 + g %% 10]
                   || case when g %% 100 = 7 then ' with my résumé attached' else ' in ordinary chat words' end,
                   '{}'::jsonb, now() - interval '30 seconds' * (%(n)s - g)
            from generate_series(1, %(n)s) as g
            join bench_search_conversations c on c.n = 1 + (g - 1) %% %(c)s
            """, {"c": conversations, "n": per * conversations, "searcher": searcher_id, "other": other_id,
                  "common": COMMON})
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze public.messages")
        conn.execute("vacuum analyze public.memberships")
    return time.monotonic() - started


def _http_timings(port, token, q, samples):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings, body = [], None
    path = "/api/v1/search?" + urllib.parse.urlencode({"q": q})
    for _ in range(samples + 3):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        raw = response.read()
        timings.append(time.perf_counter() - t)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status}: {raw[:200]!r}")
        body = json.loads(raw)
    conn.close()
    return timings[3:], body


def _action_timings(app, user_id, q, samples):
    from chat.actions import search as search_action
    timings, body = [], None
    with app.app_context():
        for _ in range(samples + 3):
            t = time.perf_counter()
            body = search_action.search(user_id, q)
            timings.append(time.perf_counter() - t)
    return timings[3:], body


def _plan(app, user_id, q):
    """EXPLAIN ANALYZE of the action's query as the user (RLS on), by compiling what the action runs."""
    import sqlalchemy as sa

    from chat.db import transaction
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "search_message_ids" in statement and not captured:
            captured.append((statement, parameters))
    engine = app.extensions["chat.db"].engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with app.app_context():
            from chat.actions import search as search_action
            search_action.search(user_id, q)
            statement, parameters = captured[0]
            with transaction(user_id) as conn:
                rows = conn.exec_driver_sql("explain (analyze, buffers) " + statement, parameters).fetchall()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    return "\n".join(r[0] for r in rows)


def run_scenario(run, port, database_url, sqlalchemy_url, searcher, other, conversations, total, samples):
    """Seed the corpus, then time each kind of query; ``port`` None skips the HTTP figures."""
    from .. import seed
    seconds = seed_corpus(database_url, searcher["id"], other["id"], conversations, total)
    run.log(f"  search corpus: {total} messages in {conversations} conversations (generate_series) "
            f"in {seconds:.1f} s")
    app = seed.setup_app(sqlalchemy_url, None)
    queries = {}
    try:
        for kind, make in QUERIES.items():
            q = make(total)
            figure = {"q": q}
            action_t, body = _action_timings(app, searcher["id"], q, samples)
            figure["action_ms"] = summary_ms(action_t)
            figure["results"] = len(body["results"])
            assert body["results"], (kind, q)  # every query kind finds something in this corpus
            if port is not None:
                http_t, http_body = _http_timings(port, searcher["token"], q, samples)
                assert len(http_body["results"]) == figure["results"], kind
                figure["http_ms"] = summary_ms(http_t)
            queries[kind] = figure
            http = f"HTTP p50 {figure['http_ms']['p50']} ms p99 {figure['http_ms']['p99']} ms; " if port else ""
            run.log(f"  search {kind} ({q!r}, {figure['results']} shown): {http}"
                    f"action p50 {figure['action_ms']['p50']} ms p99 {figure['action_ms']['p99']} ms")
        plan = _plan(app, searcher["id"], QUERIES["common"](total))
    finally:
        app.extensions["chat.db"].dispose()
    key = "http_ms" if port is not None else "action_ms"
    worst = max(f[key]["p99"] for f in queries.values())
    run.log(f"  search worst p99 {worst} ms ({'HTTP' if port is not None else 'in-process'}; target ≤ 50 ms)")
    return {"messages": total, "conversations": conversations, "queries": queries, "worst_p99_ms": worst,
            "target_p99_ms": 50, "plan_common": plan}


def run_in_bench(run, port, db):
    """The scenario inside ``python -m bench run``: two people of its own, the corpus, HTTP and in-process."""
    from .. import seed
    sizes = run.sizes
    app = seed.setup_app(db.sqlalchemy_url, None)
    with app.app_context():
        searcher, other = seed.people(app, 2, prefix="searcher")
    app.extensions["chat.db"].dispose()
    return run_scenario(run, port, db.url, db.sqlalchemy_url, searcher, other, sizes.search_conversations,
                        sizes.search_messages, sizes.search_samples)


class _Log:
    def __init__(self):
        self.started = time.monotonic()

    def log(self, message):
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", flush=True)


def main(argv=None):
    """On its own: a fresh database, two people, the corpus, the in-process figures; the database is dropped."""
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios.search")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args(argv)
    from .. import seed, services
    db, log = services.PostgresDatabase(), _Log()
    log.log(f"database {db.name}: {len(db.create())} migrations")
    try:
        app = seed.setup_app(db.sqlalchemy_url, None)
        with app.app_context():
            searcher, other = seed.people(app, 2, prefix="searcher")
        app.extensions["chat.db"].dispose()
        result = run_scenario(log, None, db.url, db.sqlalchemy_url, searcher, other, args.conversations, args.messages,
                     args.samples)
        print(json.dumps({k: v for k, v in result.items() if k != "plan_common"}, indent=2))
        print(result["plan_common"])
    finally:
        db.drop()


if __name__ == "__main__":
    main()
