"""Search over a few thousand messages, on SQLite and Postgres: every page is exact and newest first whichever
way the query is answered. On Postgres ``search_message_ids`` walks the newest messages first and hands over
to the GIN index when the words turn out rare (judged after 200 rows, then 400, 800…) or the walk passes its
budget; the words below are laid out to take the walk, the hand-over at once and the hand-over mid-page,
with ties on ``created_at`` across the hand-over, and a stranger's messages with the same words, some newer
than all of ours, that must never show."""
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
