"""The read model (chat.read): one conversation shape for the API, the pages and the events."""
import io

import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from chat.actions import accounts, attachments, conversations, history, inbox, messages, reads
from chat.delivery import fanout
from chat.read import conversations as read
from chat.schema import outbox

from .sql_support import starting_with, statements_run


def people(n, prefix):
    return [accounts.sign_up(f"{prefix}{i}@example.com", f"{prefix}{i}", "password123", f"{prefix} {i}")
            for i in range(n)]


def test_an_event_view_is_the_api_object_plus_member_count(app, alice, bob, carol, book_club):
    messages.send_message(bob["id"], book_club["id"], "one")
    messages.send_message(carol["id"], book_club["id"], "two")
    reads.mark_read(alice["id"], book_club["id"], 1)
    with app.extensions["chat.db"].transaction() as conn:
        found = read.conversations_by_id(conn, [book_club["id"]])
        members = read.members_by_conversation(conn, [book_club["id"]])
        shared, own = read.member_views(conn, {book_club["id"]: {alice["id"], bob["id"]}}, found, members)[
            book_club["id"]]
    for person in (alice, bob):
        assert {**shared, **own[person["id"]]} == inbox.get_conversation(person["id"], book_club["id"])
    assert shared["member_count"] == 3 and carol["id"] not in own


def test_event_views_count_unread_alike_for_few_and_many_members(app, alice):
    """A few members are counted in SQL, many from the conversation's tail: both agree with the list."""
    for size in (3, read.FEW + 5):
        crowd = people(size, f"v{size}_")
        group = conversations.create_group(alice["id"], f"views {size}", [p["id"] for p in crowd])
        for i in range(12):
            messages.send_message(crowd[i % 3]["id"], group["id"], f"m{i}")
        reads.mark_read(crowd[1]["id"], group["id"], 5)
        reads.mark_read(crowd[-1]["id"], group["id"], 9)
        everyone = [alice, *crowd]
        with app.extensions["chat.db"].transaction() as conn:
            found = read.conversations_by_id(conn, [group["id"]])
            members = read.members_by_conversation(conn, [group["id"]])
            shared, own = read.member_views(conn, {group["id"]: {p["id"] for p in everyone}}, found, members)[
                group["id"]]
        for person in everyone:
            assert {**shared, **own[person["id"]]} == inbox.get_conversation(person["id"], group["id"])


def test_the_fan_out_reads_in_a_fixed_number_of_queries_whatever_the_group_size(app, alice):
    def queries_for(size):
        crowd = people(size, f"g{size}_")
        group = conversations.create_group(alice["id"], f"group of {size}", [p["id"] for p in crowd])
        for i in range(3):
            messages.send_message(crowd[i % size]["id"], group["id"], f"m{i}")
        with app.extensions["chat.db"].transaction() as conn:
            rows = conn.execute(sa.select(outbox).where(outbox.c.conversation_id == group["id"])
                                .order_by(outbox.c.id)).all()
        db = app.extensions["chat.db"]
        with db.transaction() as conn, statements_run(db.engine) as seen:
            expanded = fanout.expand(conn, rows)
        assert sum(len(deliveries) for _, _, deliveries in expanded) > size  # everyone heard of something
        return len(seen)
    # A few members are counted one by one in SQL, many from the tail: one query fewer, never one per member.
    assert queries_for(3) <= queries_for(40) == queries_for(80)


def _picture(user):
    image = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(image, "PNG")
    return attachments.upload(user["id"], FileStorage(stream=io.BytesIO(image.getvalue()), filename="p.png"))


def test_a_page_reads_attachments_only_when_one_of_its_messages_has_some(app, alice, bob, direct):
    for i in range(3):
        messages.send_message(alice["id"], direct["id"], f"plain {i}")
    with statements_run(app.extensions["chat.db"].engine) as seen:
        page = history.page_messages(bob["id"], direct["id"])
    assert [m["attachments"] for m in page["messages"]] == [[], [], []]
    assert not starting_with(seen, "select attachments.")

    picture = _picture(bob)
    sent, _ = messages.send_message(bob["id"], direct["id"], "look", kind="image", attachment_ids=[picture["id"]])
    messages.send_message(alice["id"], direct["id"], "nice")
    with statements_run(app.extensions["chat.db"].engine) as seen:
        page = history.page_messages(alice["id"], direct["id"])
    assert [[a["id"] for a in m["attachments"]] for m in page["messages"]] == [[], [], [], [picture["id"]], []]
    assert len(starting_with(seen, "select attachments.")) == 1
    assert page["messages"][3] == sent

    listed = inbox.list_conversations(alice["id"])[0]["last_message"]
    assert listed["attachments"] == [] and listed["body"] == "nice"
    messages.send_message(bob["id"], direct["id"], "", kind="image", attachment_ids=[_picture(bob)["id"]])
    listed = inbox.list_conversations(alice["id"])[0]["last_message"]
    assert [a["filename"] for a in listed["attachments"]] == ["p.png"]
    assert listed == history.page_messages(alice["id"], direct["id"])["messages"][-1]
