"""The relay and the in-process broker: who receives which events, in what order, exactly once.

These run on SQLite and on Postgres, with the relay publishing inside each request (``TESTING``).
"""
import pytest
import sqlalchemy as sa

from chat.actions import conversations, members, messages, reads
from chat.config import ConfigError
from chat.delivery import fanout
from chat.delivery.broker import BrokerUnavailable, CursorTooOld, EpochChanged
from chat.delivery.events import Event, parse_cursor
from chat.delivery.memory import InProcessBroker, refuse_multiple_workers
from chat.read.conversations import MEMBERS_IN_BRIEF_VIEW
from chat.schema import outbox


def test_members_get_the_message_and_their_own_view_outsiders_nothing(record, alice, bob, carol, dave, book_club):
    rec = record(alice, bob, carol, dave)
    message, _ = messages.send_message(bob["id"], book_club["id"], "hello")
    for person, unread in ((alice, 1), (bob, 0), (carol, 1)):
        created, updated = rec.take(person)
        assert created.type == "message.created" and created.data == message
        assert updated.type == "conversation.updated"
        assert updated.data["id"] == book_club["id"] and updated.data["last_message"]["id"] == message["id"]
        assert updated.data["unread_count"] == unread
        assert updated.data["my_role"] == ("owner" if person is alice else "member")
        assert {m["username"] for m in updated.data["members"]} == {"alice", "bob", "carol"}
    assert rec.take(dave) == []


def test_every_message_once_in_seq_order(record, alice, bob, book_club):
    rec = record(bob)
    for i in range(30):
        messages.send_message(alice["id"], book_club["id"], f"m{i}")
    created = [e.data["seq"] for e in rec.take(bob) if e.type == "message.created"]
    assert created == list(range(1, 31))


def test_edit_and_delete_reach_every_member(record, alice, bob, book_club):
    message, _ = messages.send_message(alice["id"], book_club["id"], "draft")
    rec = record(bob)
    messages.edit_message(alice["id"], message["id"], "final")
    messages.delete_message(alice["id"], message["id"])
    events = rec.take(bob)
    assert [e.type for e in events] == ["message.updated", "conversation.updated",
                                        "message.deleted", "conversation.updated"]
    assert events[0].data["body"] == "final" and events[2].data["body"] == ""


def test_read_goes_to_every_member_and_only_the_reader_gets_a_new_view(record, alice, bob, carol, book_club):
    messages.send_message(alice["id"], book_club["id"], "one")
    rec = record(alice, bob, carol)
    reads.mark_read(bob["id"], book_club["id"], 1)
    assert rec.types(alice) == ["read"] and rec.types(carol) == ["read"]
    read, view = rec.take(bob)
    assert read.data == {"conversation_id": book_club["id"], "user_id": bob["id"], "seq": 1}
    assert view.type == "conversation.updated" and view.data["unread_count"] == 0


def test_a_removed_member_hears_of_it_and_then_nothing(record, alice, bob, carol, book_club):
    rec = record(alice, carol)
    members.remove_member(alice["id"], book_club["id"], carol["id"])
    assert rec.types(carol) == ["member.removed"]
    assert rec.types(alice) == ["member.removed", "message.created", "conversation.updated"]
    messages.send_message(alice["id"], book_club["id"], "after carol left")
    conversations.rename_group(alice["id"], book_club["id"], "book-club 2")
    assert rec.take(carol) == []


def test_a_new_member_gets_the_conversation(record, alice, bob, dave, book_club):
    rec = record(dave, bob)
    members.add_member(alice["id"], book_club["id"], dave["id"])
    added, said, view = rec.take(dave)
    assert added.type == "member.added" and added.data["user_id"] == dave["id"]
    assert said.type == "message.created" and said.data["kind"] == "system"  # "Alice added Dave."
    assert view.data["name"] == "book-club" and view.data["member_count"] == 4
    assert rec.types(bob) == ["member.added", "message.created", "conversation.updated"]


def test_rename_updates_every_members_view(record, alice, bob, book_club):
    rec = record(bob)
    conversations.rename_group(alice["id"], book_club["id"], "readers")
    said, view = rec.take(bob)  # the system line, then everyone's view
    assert said.type == "message.created" and said.data["metadata"]["name"] == "readers"
    assert view.type == "conversation.updated" and view.data["name"] == "readers"


def test_rows_are_marked_published_and_a_retry_publishes_nothing_twice(app, broker, record, alice, bob, book_club):
    rec = record(bob)
    messages.send_message(alice["id"], book_club["id"], "once")
    assert len(rec.take(bob)) == 2
    db = app.extensions["chat.db"]
    with db.transaction() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.published_at.is_(None))).scalar() == 0
        conn.execute(outbox.update().values(published_at=None))  # as if the marks were lost
    app.extensions["chat.relay"].publish_pending()
    assert rec.take(bob) == []
    assert [e.type for e in broker.read_log(bob["id"], broker.epoch(), "0-0")].count("message.created") == 1


class Unreachable:
    """A broker that is down."""

    def publish(self, rows):
        raise BrokerUnavailable("down for the test")


def test_sends_succeed_while_the_broker_is_down_and_go_out_later_in_order(app, broker, record, alice, bob,
                                                                          book_club):
    relay = app.extensions["chat.relay"]
    relay.broker = Unreachable()
    rec = record(bob)
    for i in range(5):
        messages.send_message(alice["id"], book_club["id"], f"waiting {i}")
    assert rec.take(bob) == []
    relay.broker = broker
    assert relay.publish_pending() >= 5
    assert [e.data["seq"] for e in rec.take(bob) if e.type == "message.created"] == [1, 2, 3, 4, 5]


def test_a_big_group_costs_a_few_queries_not_one_per_member(app, alice):
    from chat.actions import accounts
    crowd = [accounts.sign_up(f"p{i}@example.com", f"person{i}", "password123", f"P {i}")["id"]
             for i in range(150)]
    small = conversations.create_group(alice["id"], "small", crowd[:3])
    big = conversations.create_group(alice["id"], "big", crowd)
    db = app.extensions["chat.db"]

    def queries_to_expand(conversation_id):
        messages.send_message(alice["id"], conversation_id, "hi all")
        statements = []
        with db.transaction() as conn:
            rows = conn.execute(sa.select(outbox).where(outbox.c.conversation_id == conversation_id)
                                .order_by(outbox.c.id.desc()).limit(1)).all()
            sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
            (_, _, deliveries), = fanout.expand(conn, rows)
        return len(statements), deliveries

    small_count, _ = queries_to_expand(small["id"])
    big_count, deliveries = queries_to_expand(big["id"])
    assert small_count <= big_count <= 6
    views = [d for d in deliveries if d.type == "conversation.updated"]
    assert len(views) == 151 and len({id(d.base) for d in views}) == 1  # one shared view, 151 own parts
    # Messages alone leave the members as they were: the view lists a few, and says how many there are.
    assert views[0].base["member_count"] == 151 and len(views[0].base["members"]) == MEMBERS_IN_BRIEF_VIEW


def test_a_view_after_a_membership_change_lists_the_first_hundred_members(app, alice):
    from chat.actions import accounts
    crowd = [accounts.sign_up(f"q{i}@example.com", f"quinn{i}", "password123", f"Q {i}")["id"]
             for i in range(120)]
    big = conversations.create_group(alice["id"], "big", crowd[:-1])
    db = app.extensions["chat.db"]
    with db.transaction() as conn:
        before = conn.execute(sa.select(sa.func.max(outbox.c.id))).scalar()
    members.add_member(alice["id"], big["id"], crowd[-1])  # the addition, and its system message
    with db.transaction() as conn:
        rows = conn.execute(sa.select(outbox).where(outbox.c.id > before).order_by(outbox.c.id)).all()
        expanded = fanout.expand(conn, rows)
    assert "member.added" in [r.event_type for r in rows]
    views = [d for _, _, deliveries in expanded for d in deliveries if d.type == "conversation.updated"]
    assert len(views) == 121
    assert views[0].base["member_count"] == 121 and len(views[0].base["members"]) == 100


def test_log_resumes_after_a_cursor_and_refuses_one_it_cannot_honour(record, broker, alice, bob, book_club):
    record(bob)
    start = broker.latest(bob["id"])
    for i in range(3):
        messages.send_message(alice["id"], book_club["id"], f"m{i}")
    epoch = broker.epoch()
    everything = broker.read_log(bob["id"], epoch, start)
    assert [e.type for e in everything] == ["message.created", "conversation.updated"] * 3
    after_first = broker.read_log(bob["id"], epoch, everything[1].entry)
    assert after_first == everything[2:]
    assert parse_cursor(everything[0].id) == (epoch, everything[0].entry)
    with pytest.raises(CursorTooOld):
        broker.read_log(bob["id"], epoch, "999999-0")
    with pytest.raises(EpochChanged):
        broker.read_log(bob["id"], "another-epoch", "0-0")


def test_a_trimmed_log_sends_old_cursors_to_reset():
    broker = InProcessBroker(log_length=3)
    delivery = __import__("chat.delivery.events", fromlist=["Delivery"]).Delivery
    broker.publish([(i, "c", [delivery("u", "message.created", {"seq": i}, None)]) for i in range(1, 6)])
    epoch = broker.epoch()
    assert [e.data["seq"] for e in broker.read_log("u", epoch, "2-0")] == [3, 4, 5]
    with pytest.raises(CursorTooOld):
        broker.read_log("u", epoch, "1-0")


def test_a_stream_that_cannot_keep_up_is_cut_off_not_buffered():
    broker = InProcessBroker(queue_size=5)
    sub = broker.subscribe("u")
    cut = []
    sub.on_overflow = lambda: cut.append(True)
    broker.publish_ephemeral(["u"] * 6, "typing", {})
    assert sub.closed and cut == [True] and not broker.has_local("u")
    broker.publish_ephemeral(["u"], "typing", {})  # nothing more is queued for it
    assert sub.queue.qsize() == 5


def test_unsubscribing_forgets_the_stream():
    broker = InProcessBroker()
    subs = [broker.subscribe("u") for _ in range(3)]
    for sub in subs:
        broker.unsubscribe(sub)
    assert broker.local_count() == 0 and broker._local == {}


def test_refuses_several_worker_processes():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        refuse_multiple_workers({"CHAT_SERVER_WORKERS": "2"})
    refuse_multiple_workers({"CHAT_SERVER_WORKERS": "1"})
    refuse_multiple_workers({})


def test_event_json_joins_own_fields_with_the_shared_part():
    event = Event("conversation.updated", {"id": "c", "name": "x"}, {"unread_count": 2})
    assert event.data == {"id": "c", "name": "x", "unread_count": 2}
    assert __import__("json").loads(event.data_json()) == event.data


def test_two_relays_at_once_keep_each_conversations_order(app, broker, record, alice, bob, carol):
    """Two processes' relays publishing the same backlog: every row once, each conversation in order."""
    import threading

    from chat.delivery.relay import Relay
    groups = [conversations.create_group(alice["id"], f"g{i}", [bob["id"], carol["id"]]) for i in range(3)]
    relay = app.extensions["chat.relay"]
    relay.broker = Unreachable()
    for i in range(60):
        messages.send_message(alice["id"], groups[i % 3]["id"], f"m{i}")
    rec = record(bob)
    relays = [Relay(app, app.extensions["chat.db"], broker, batch_size=7) for _ in range(2)]
    threads = [threading.Thread(target=r.publish_pending) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    created = [e.data for e in rec.take(bob) if e.type == "message.created"]
    assert len(created) == 60
    for group in groups:
        assert [m["seq"] for m in created if m["conversation_id"] == group["id"]] == list(range(1, 21))


def test_published_rows_are_pruned_after_the_retention(app, alice, bob):
    from datetime import timedelta

    from chat.schema import utcnow
    conversation, _ = conversations.open_direct(alice["id"], bob["id"])
    for i in range(3):
        messages.send_message(alice["id"], conversation["id"], f"m{i}")
    db, relay = app.extensions["chat.db"], app.extensions["chat.relay"]
    with db.transaction() as conn:
        first = conn.execute(sa.select(sa.func.min(outbox.c.id))).scalar()
        conn.execute(outbox.update().where(outbox.c.id == first).values(published_at=utcnow() - timedelta(days=2)))
        conn.execute(outbox.insert().values(conversation_id=conversation["id"], event_type="read", payload={},
                                            created_at=utcnow() - timedelta(days=3)))  # never published
    relay.prune()
    with db.transaction() as conn:
        left = conn.execute(sa.select(outbox.c.id, outbox.c.published_at)).all()
    assert first not in [r.id for r in left] and len(left) == 3
    assert sum(1 for r in left if r.published_at is None) == 1


@pytest.mark.parametrize("tail", [10, 300])
def test_views_count_unread_as_the_inbox_does(app, alice, bob, carol, dave, monkeypatch, tail):
    """The views work unread counts out from the conversation's tail; the inbox counts in SQL."""
    from chat.actions import inbox
    from chat.read import conversations as views
    monkeypatch.setattr(views, "TAIL", tail)
    group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"], dave["id"]])
    people = [alice, bob, carol, dave]
    sent = [messages.send_message(people[i % 3]["id"], group["id"], f"m{i}")[0] for i in range(40)]
    for message in sent[3:30:4]:
        messages.delete_message(message["sender_id"], message["id"])
    for person, seq in ((bob, 5), (carol, 33), (dave, 0)):
        reads.mark_read(person["id"], group["id"], seq)
    db = app.extensions["chat.db"]
    with db.transaction() as conn:
        found = views.conversations_by_id(conn, [group["id"]])
        members = views.members_by_conversation(conn, [group["id"]])
        shown = views.member_views(conn, {group["id"]: {p["id"] for p in people}}, found, members)
    _, own = shown[group["id"]]
    for person in people:
        expected = inbox.get_conversation(person["id"], group["id"])
        assert own[person["id"]]["unread_count"] == expected["unread_count"], person["username"]
        assert own[person["id"]]["last_read_seq"] == expected["last_read_seq"]


def test_a_group_created_with_many_members_does_not_tell_everyone_of_everyone(app, record, alice):
    from chat.actions import accounts
    crowd = [accounts.sign_up(f"c{i}@example.com", f"crowd{i}", "password123", f"C {i}") for i in range(25)]
    rec = record(*crowd)
    group = conversations.create_group(alice["id"], "crowd", [p["id"] for p in crowd])
    for person in crowd:
        added, view = rec.take(person)
        assert (added.type, added.data["user_id"]) == ("member.added", person["id"])
        assert view.type == "conversation.updated" and view.data["id"] == group["id"]
        assert view.data["member_count"] == 26
