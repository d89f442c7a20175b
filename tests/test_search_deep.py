"""Search over a few thousand messages, on SQLite and Postgres: every page is exact and newest first whichever
way the query is answered. On Postgres ``search_message_ids`` walks the caller's newest messages first and hands
over to the GIN index when the words turn out rare (judged after 200 rows, then 400, 800…) or the walk passes
its budget; the words below are laid out to take the walk, the hand-over at once and the hand-over mid-page,
with ties on ``created_at`` across the hand-over, and a stranger's messages with the same words, some newer
than all of ours, that must never show; and a busy conversation the searcher is not in whose messages are
the newest (the walk passes over them in the index without reading them)."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chat.actions import conversations, members
from chat.actions import search as search_action
from chat.db import transaction
from chat.schema import messages

from .test_rls import pg  # noqa: F401  (fixture)

TOTAL = 3600
BASE = datetime(2026, 10, 1, tzinfo=UTC)


def words_of(rank):
    """The words of the message ``rank`` places from the newest (0 is the newest)."""
    words = ["plain"]
    if rank % 3 == 0:
        words.append("often")  # common: the walk finds a page within the first rows
    if rank in (10, 50, 90, 130, 170) or (rank >= 3300 and rank % 10 == 0):
        words.append("sparse")  # 4 or 5 in the probe, then none for 3,100 rows: handed over mid-page
    if rank == 100 or (rank >= 3400 and rank % 7 == 0):
        words.append("lonely")  # 1 in the probe: the GIN index takes over after 200 rows
    words.append("wordone" if rank % 2 else "wordtwo")  # each common, together only once, far back
    if rank == 3500:
        words.append("wordone")
    if rank >= TOTAL - 30:
        words.append("oldest")  # only among the oldest: the walk finds nothing in its probe
    return words


def bulk(conversation_id, sender_id, count, first_seq, seconds_back=0):
    """``count`` messages, two per second (ties on created_at), the newest ``seconds_back`` seconds ago."""
    rows, newest = [], BASE - timedelta(seconds=seconds_back)
    for rank in range(count):
        rows.append({"id": str(uuid.uuid4()), "conversation_id": conversation_id, "seq": first_seq + count - rank,
                     "sender_id": sender_id, "kind": "text", "body": " ".join(words_of(rank)), "metadata": {},
                     "created_at": newest - timedelta(seconds=rank // 2)})
    with transaction() as conn:
        conn.execute(messages.insert(), rows)
        conn.execute(sa.text("update conversations set last_seq = :seq where id = :id"),
                     {"seq": first_seq + count, "id": conversation_id})
    return rows


def every_page(user, q, limit, **filters):
    ids, cursor = [], None
    for _ in range(TOTAL):
        page = search_action.search(user["id"], q, limit=limit, cursor=cursor, **filters)
        ids += [r["message"]["id"] for r in page["results"]]
        assert len(page["results"]) <= limit
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


def expected(rows, q):
    wanted = set(q.split())
    matching = [r for r in rows if wanted <= set(r["body"].split())]
    return [r["id"] for r in sorted(matching, key=lambda r: (r["created_at"], uuid.UUID(r["id"])), reverse=True)]


@pytest.fixture
def deep(app, alice, bob, carol, dave):
    mine = conversations.open_direct(alice["id"], bob["id"])[0]
    theirs = conversations.open_direct(carol["id"], dave["id"])[0]
    rows = bulk(mine["id"], bob["id"], TOTAL, 0, seconds_back=3600)
    newer = bulk(theirs["id"], carol["id"], 30, 0)  # newer than all of alice's: walked, never hers
    older = bulk(theirs["id"], carol["id"], 400, 30, seconds_back=7200)  # the same words among hers
    return {"rows": rows, "mine": mine, "theirs": theirs, "their_rows": newer + older}


def test_every_page_is_exact_and_newest_first(deep, alice):
    for q in ("often", "sparse", "lonely", "wordone wordtwo", "oldest", "plain often"):
        want = expected(deep["rows"], q)
        page = search_action.search(alice["id"], q)
        assert [r["message"]["id"] for r in page["results"]] == want[:20], q
        for limit in (20, 50):
            assert every_page(alice, q, limit) == want, (q, limit)


def test_filters_hold_across_the_hand_over(deep, alice, bob, carol):
    rows = deep["rows"]
    assert every_page(alice, "lonely", 20, conversation_id=deep["mine"]["id"]) == expected(rows, "lonely")
    assert every_page(alice, "sparse", 20, sender=bob["id"]) == expected(rows, "sparse")
    assert search_action.search(alice["id"], "sparse", sender=carol["id"])["results"] == []
    cut = BASE - timedelta(seconds=3600 + 1700)  # ranks 3400 and older
    older = [r for r in rows if r["created_at"] < cut]
    assert every_page(alice, "lonely", 20, before=cut.isoformat()) == expected(older, "lonely")
    newer = [r for r in rows if r["created_at"] >= cut]
    assert every_page(alice, "sparse", 20, after=cut.isoformat()) == expected(newer, "sparse")


def test_a_stranger_finds_nothing_and_a_removed_member_no_longer_finds(deep, alice, bob, carol):
    assert {r["conversation_id"] for r in search_action.search(carol["id"], "lonely", limit=50)["results"]} \
        == {deep["theirs"]["id"]}
    assert {r["conversation_id"] for r in search_action.search(carol["id"], "often", limit=50)["results"]} \
        == {deep["theirs"]["id"]}
    group = conversations.create_group(alice["id"], "deep", [bob["id"]])
    extra = bulk(group["id"], bob["id"], 300, 0, seconds_back=60)
    assert search_action.search(bob["id"], "often")["results"][0]["message"]["id"] == expected(extra, "often")[0]
    members.remove_member(alice["id"], group["id"], bob["id"])
    assert {r["conversation_id"] for r in search_action.search(bob["id"], "often", limit=50)["results"]} \
        == {deep["mine"]["id"]}


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_helper_itself_answers_only_with_the_callers_messages(pg, deep, alice, carol):  # noqa: F811
    """Below RLS: the candidate ids the helper gives, on each of its paths, are the caller's only."""
    ids = "select found::text from public.search_message_ids(%s, 51, %s) as found"
    alices = {r["id"] for r in deep["rows"]}
    carols = {r["id"] for r in deep["their_rows"]}
    for q in ("often", "sparse", "lonely", "wordone wordtwo", "oldest", "plain"):
        got = [row[0] for row in pg.rows(alice["id"], ids, (q, None))]
        assert got == expected(deep["rows"], q)[:51], q
        assert {row[0] for row in pg.rows(carol["id"], ids, (q, None))} <= carols, q
        assert pg.rows(alice["id"], ids, (q, deep["theirs"]["id"])) == [], q
        assert pg.rows(carol["id"], ids, (q, deep["mine"]["id"])) == [], q
    assert alices.isdisjoint(carols)


@pytest.fixture
def busy(app, alice, bob, carol, dave):
    """Alice's words as above, and a busy conversation she is not in: 4,000 messages newer than all of hers
    (more than the walk's probe), then as many again at the very moments of hers (ties across conversations),
    with the same words."""
    mine = conversations.open_direct(alice["id"], bob["id"])[0]
    theirs = conversations.open_direct(carol["id"], dave["id"])[0]
    rows = bulk(mine["id"], bob["id"], TOTAL, 0, seconds_back=3600)
    newer = bulk(theirs["id"], carol["id"], 4000, TOTAL, seconds_back=0)
    beside = bulk(theirs["id"], dave["id"], TOTAL, 0, seconds_back=3600)
    return {"rows": rows, "mine": mine, "theirs": theirs, "their_rows": newer + beside}


def test_pages_stay_exact_when_the_newest_messages_are_someone_elses(busy, alice, bob, carol):
    rows = busy["rows"]
    for q in ("often", "sparse", "lonely", "wordone wordtwo", "oldest", "plain often"):
        want = expected(rows, q)
        assert [r["message"]["id"] for r in search_action.search(alice["id"], q)["results"]] == want[:20], q
        assert every_page(alice, q, 20) == want, q
    assert every_page(alice, "often", 50, sender=bob["id"]) == expected(rows, "often")
    assert search_action.search(alice["id"], "often", sender=carol["id"])["results"] == []
    cut = BASE - timedelta(seconds=3600 + 1700)
    assert every_page(alice, "lonely", 20, before=cut.isoformat()) \
        == expected([r for r in rows if r["created_at"] < cut], "lonely")
    assert every_page(alice, "often", 20, after=cut.isoformat()) \
        == expected([r for r in rows if r["created_at"] >= cut], "often")
    assert {r["conversation_id"] for r in search_action.search(carol["id"], "often", limit=50)["results"]} \
        == {busy["theirs"]["id"]}


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_walk_reads_only_the_callers_rows(pg, busy, alice, carol):  # noqa: F811
    """A common word is found by the walk, not the GIN index, however many of the newest messages are
    someone else's: their entries are passed over in an index, and only the caller's rows are read by id — at
    least the 61 that hold the page of 21 (ranks 0 to 60), at most one probe of 200, never the 4,000 newer."""
    scans = ("select c.relname::text, pg_catalog.pg_stat_get_xact_numscans(c.oid),"
             " pg_catalog.pg_stat_get_xact_tuples_returned(c.oid) from pg_catalog.pg_class c"
             " where c.relnamespace = 'public'::regnamespace and c.relname like 'messages%'")
    with pg.as_user(alice["id"]) as cur:
        cur.execute("select found::text from public.search_message_ids('often', 21) as found")
        got = [row[0] for row in cur.fetchall()]
        cur.execute(scans)
        used = {name: (count, read) for name, count, read in cur.fetchall()}
    assert got == expected(busy["rows"], "often")[:21]
    assert used.get("messages_search_vector_idx", (0, 0))[0] == 0, used
    assert 61 <= used["messages_pkey"][1] <= 200, used
    ids = "select found::text from public.search_message_ids(%s, 51) as found"
    carols = {r["id"] for r in busy["their_rows"]}
    for q in ("often", "sparse", "lonely", "wordone wordtwo", "oldest", "plain"):
        assert [row[0] for row in pg.rows(alice["id"], ids, (q,))] == expected(busy["rows"], q)[:51], q
        assert {row[0] for row in pg.rows(carol["id"], ids, (q,))} <= carols, q
