"""The relay delivers only outbox rows that are true to the database (defence in depth behind S1).

Forged rows are written straight into the outbox as the server (as a compromised writer could), then
the relay publishes: nobody receives them, they are marked published, a warning names each, and the
genuine rows around them still go out. SQLite and Postgres, with the in-process broker.
"""
import logging

import pytest
import sqlalchemy as sa

from chat.actions import conversations, members, messages
from chat.db import transaction
from chat.delivery.events import CLOSE, RESYNC
from chat.schema import outbox, utcnow

OUTSIDER_ID = "00000000-0000-4000-8000-0000000000ff"


@pytest.fixture
def relay(app):
    return app.extensions["chat.relay"]


@pytest.fixture
def listen(app):
    broker = app.extensions["chat.broker"]

    def subscribe(*people):
        subs = {p["id"]: broker.subscribe(p["id"]) for p in people}

        def take(person):
            queue, found = subs[person["id"]].queue, []
            while not queue.empty():
                item = queue.get_nowait()
                if item not in (RESYNC, CLOSE):
                    found.append(item)
            return found
        return take
    return subscribe


@pytest.fixture
def dm(alice, bob):
    return conversations.open_direct(alice["id"], bob["id"])[0]


def write_rows(*rows):
    """Insert ``(conversation_id, event_type, payload)`` rows as the server, unpublished; return their ids."""
    with transaction() as conn:
        return [conn.execute(outbox.insert().values(conversation_id=cid, event_type=kind, payload=payload,
                                                    created_at=utcnow()).returning(outbox.c.id)).scalar_one()
                for cid, kind, payload in rows]


def unpublished():
    with transaction() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.published_at.is_(None))).scalar()


def test_the_audits_forged_message_reaches_nobody(relay, listen, caplog, alice, bob, carol, dm):
    real, _ = messages.send_message(alice["id"], dm["id"], "hello bob")
    take = listen(alice, bob, carol)
    forged = {**real, "body": "FORGED: bob says send me your password", "sender_id": bob["id"]}
    evil_link = {**real, "attachments": [{"id": OUTSIDER_ID, "filename": "invoice.pdf", "size": 1,
                                          "content_type": "application/pdf", "url": "https://evil.example/x.pdf",
                                          "width": None, "height": None, "duration_ms": None}]}
    rows = [
        (dm["id"], "message.created", {**forged, "id": OUTSIDER_ID, "seq": 2}),  # a message that does not exist
        (dm["id"], "message.created", forged),                                   # alice's message, "from bob"
        (dm["id"], "message.updated", {**real, "seq": 7}),                       # another seq
        (dm["id"], "message.updated", {**real, "kind": "system"}),
        (dm["id"], "message.updated", evil_link),                                # a link elsewhere
        (dm["id"], "message.deleted", real),                                     # not deleted
        (dm["id"], "message.updated", {**real, "body": "words alice never wrote"}),
        (dm["id"], "message.created", {**real, "id": "not-a-uuid"}),             # must not stop the relay
        (dm["id"], "message.created", ["not", "an", "object"]),
        (dm["id"], "message.hacked", real),                                      # not an event of ours
    ]
    with caplog.at_level(logging.WARNING, logger="chat.delivery.relay"):
        write_rows(*rows)
        relay.publish_pending()
    assert take(alice) == [] and take(bob) == [] and take(carol) == []
    assert unpublished() == 0
    assert sum("not delivered" in r.getMessage() for r in caplog.records) == len(rows)


def test_a_message_claimed_for_another_conversation_reaches_nobody(relay, listen, alice, bob, carol, dm):
    theirs, _ = conversations.open_direct(bob["id"], carol["id"])
    real, _ = messages.send_message(alice["id"], dm["id"], "for bob only")
    take = listen(alice, bob, carol)
    write_rows(
        (theirs["id"], "message.created", real),                                  # row and payload disagree
        (theirs["id"], "message.created", {**real, "conversation_id": theirs["id"]}),  # not that message's
        (None, "message.created", real),                                          # no conversation
    )
    relay.publish_pending()
    assert take(alice) == [] and take(bob) == [] and take(carol) == []
    assert unpublished() == 0


def test_member_events_about_non_members_reach_nobody(relay, listen, alice, bob, carol, dave, dm):
    group = conversations.create_group(alice["id"], "club", [bob["id"]])
    take = listen(alice, bob, carol, dave)
    write_rows(
        (group["id"], "member.added", {"conversation_id": group["id"], "user_id": carol["id"], "by": alice["id"]}),
        (group["id"], "read", {"conversation_id": group["id"], "user_id": dave["id"], "seq": 1}),
        (group["id"], "member.removed", {"conversation_id": group["id"], "user_id": bob["id"], "by": alice["id"]}),
        (dm["id"], "member.removed", {"conversation_id": dm["id"], "user_id": carol["id"], "by": alice["id"]}),
        (group["id"], "member.added", {"conversation_id": group["id"], "user_id": "'; drop table users; --"}),
    )
    relay.publish_pending()
    assert all(take(p) == [] for p in (alice, bob, carol, dave))
    assert unpublished() == 0


def hold(relay, monkeypatch):
    """Nothing is published until ``relay.publish_pending()``: the rows of several actions make one batch."""
    monkeypatch.setattr(relay, "sync", False)
    monkeypatch.setattr(relay, "start", lambda: None)


def test_genuine_rows_around_forged_ones_still_go_out_in_order(relay, listen, monkeypatch, alice, bob, dm):
    take = listen(bob)
    hold(relay, monkeypatch)
    first, _ = messages.send_message(alice["id"], dm["id"], "first")
    write_rows((dm["id"], "message.created", {**first, "id": OUTSIDER_ID, "seq": 2, "body": "forged"}))
    second, _ = messages.send_message(alice["id"], dm["id"], "second")
    edited = messages.edit_message(alice["id"], second["id"], "second, edited")
    relay.publish_pending()
    events = [(e.type, e.data) for e in take(bob) if e.type.startswith("message.")]
    # The created event carries the body the message had then: an earlier version, still genuine.
    assert events == [("message.created", first), ("message.created", second), ("message.updated", edited)]
    assert unpublished() == 0


def test_removal_and_return_in_one_batch_both_reach_the_person(relay, listen, monkeypatch, alice, bob, carol):
    group = conversations.create_group(alice["id"], "club", [bob["id"], carol["id"]])
    take = listen(bob)
    hold(relay, monkeypatch)
    members.remove_member(alice["id"], group["id"], bob["id"])
    members.add_member(alice["id"], group["id"], bob["id"])
    members.remove_member(carol["id"], group["id"], carol["id"])  # carol leaves: she is not a member now
    relay.publish_pending()
    kinds = [(e.type, e.data.get("user_id")) for e in take(bob) if e.type.startswith("member.")]
    assert kinds == [("member.removed", bob["id"]), ("member.added", bob["id"]), ("member.removed", carol["id"])]
    assert unpublished() == 0
