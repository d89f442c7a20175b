"""(6) History: a keyset page of 50 at several depths of a 1M-message conversation (OFFSET beside it for
contrast), and the conversation list of a person in 1,000 conversations.

Each figure is taken three ways: over HTTP from the app (what a client sees: auth, RLS, JSON), the
app's own SQL run directly as the user under RLS, and (history only) the same page by OFFSET.
"""
import http.client
import json
import time

import psycopg

from ..stats import summary_ms

PAGE = 50
KEYSET_SQL = ("select * from public.messages where conversation_id = %(cid)s and seq < %(before)s "
              "order by seq desc limit 51")
NEWEST_SQL = "select * from public.messages where conversation_id = %(cid)s order by seq desc limit 51"
OFFSET_SQL = ("select * from public.messages where conversation_id = %(cid)s "
              "order by seq desc offset %(offset)s limit 51")


def _http_timings(port, path, token, samples):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings, status, body = [], None, None
    for _ in range(samples + 3):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        timings.append(time.perf_counter() - t)
        status = response.status
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:200]!r}")
    conn.close()
    return timings[3:], json.loads(body)  # the first requests warm the connection and caches


def _sql_timings(conn, sql, params, samples, as_user=None):
    timings = []
    for _ in range(samples + 3):
        t = time.perf_counter()
        with conn.transaction():
            if as_user:
                conn.execute("select set_config('request.jwt.claims', %s, true), "
                             "set_config('role', 'authenticated', true)",
                             (json.dumps({"sub": as_user, "role": "authenticated"}),))
            conn.execute(sql, params, prepare=True).fetchall()
        timings.append(time.perf_counter() - t)
    return timings[3:]


def run(run, port, database_url, conversation_id, reader, total, depths, samples, hub, hub_count):
    pages = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for depth in depths:
            before = total - depth + 1
            path = f"/api/v1/conversations/{conversation_id}/messages?limit={PAGE}"
            if depth:
                path += f"&before={before}"
            http_t, body = _http_timings(port, path, reader["token"], samples)
            seqs = [m["seq"] for m in body["messages"]]
            assert seqs == list(range(before - PAGE, before)), (depth, seqs[:3], seqs[-3:])
            params = {"cid": conversation_id, "before": before, "offset": depth}
            keyset_t = _sql_timings(conn, KEYSET_SQL if depth else NEWEST_SQL, params, samples, reader["id"])
            offset_t = _sql_timings(conn, OFFSET_SQL, params, 5, reader["id"])
            page = {"depth": depth, "http_ms": summary_ms(http_t), "keyset_sql_ms": summary_ms(keyset_t),
                    "offset_sql_ms": summary_ms(offset_t)}
            pages.append(page)
            run.log(f"  history depth {depth}: HTTP p50 {page['http_ms']['p50']} ms p99 {page['http_ms']['p99']} ms; "
                    f"SQL keyset p50 {page['keyset_sql_ms']['p50']} ms, OFFSET p50 {page['offset_sql_ms']['p50']} ms")
        inbox_http, body = _http_timings(port, "/api/v1/conversations?limit=50", hub["token"], samples)
        assert len(body["conversations"]) == 50, len(body["conversations"])
        from chat.read.conversations import CONVERSATIONS_SQL
        sql = CONVERSATIONS_SQL.format(filters="").replace(":viewer", "%(viewer)s") \
            .replace(":limit", "%(limit)s")
        inbox_sql = _sql_timings(conn, sql, {"viewer": hub["id"], "limit": 50}, samples, hub["id"])
        with conn.transaction():  # the plan as the app runs it: as the user, under RLS
            conn.execute("select set_config('request.jwt.claims', %s, true), set_config('role', 'authenticated', true)",
                         (json.dumps({"sub": hub["id"], "role": "authenticated"}),))
            plan = "\n".join(r[0] for r in conn.execute("explain (analyze, buffers) " + sql,
                                                        {"viewer": hub["id"], "limit": 50}).fetchall())
    inbox = {"conversations": hub_count, "http_ms": summary_ms(inbox_http), "rows_sql_ms": summary_ms(inbox_sql),
             "plan": plan}
    run.log(f"  conversation list ({hub_count} conversations): HTTP p50 {inbox['http_ms']['p50']} ms, "
            f"p99 {inbox['http_ms']['p99']} ms; its main query p50 {inbox['rows_sql_ms']['p50']} ms")
    return {"messages": total, "pages": pages, "inbox": inbox}
