"""Who may see whose presence (security audit S14): a direct conversation counts only once both wrote.

Opening a DM needs nobody's consent, so an empty one must not let a stranger watch someone come and go;
a group counts as soon as both are members.
"""
from chat.actions import conversations, live, messages
from chat.delivery import presence_hooks


def online(user):
    """``user`` opens a stream, as ``GET /events`` does."""
    return presence_hooks.stream_opened(user["id"])


def test_an_empty_dm_shows_no_presence_and_sends_no_presence_events(api_as, record, alice, bob, dave):
    conversations.open_direct(dave["id"], bob["id"])  # dave, a stranger, opens a DM with bob
    rec = record(dave, alice)
    online(bob)
    assert api_as(bob).post("/presence", json={"status": "away"}).json == {"status": "away"}
    assert api_as(dave).get(f"/presence?user_id={bob['id']}").json == {"presence": {}}
    assert api_as(bob).get(f"/presence?user_id={dave['id']}").json == {"presence": {}}
    rec.assert_nothing_for(dave, alice)


def test_a_dm_only_one_of_them_wrote_in_still_shows_nothing(api_as, record, bob, dave):
    dm, _ = conversations.open_direct(dave["id"], bob["id"])
    messages.send_message(dave["id"], dm["id"], "hi bob, remember me?")
    rec = record(dave)
    online(bob)
    assert api_as(dave).get(f"/presence?user_id={bob['id']}").json == {"presence": {}}
    assert [e for e in rec.take(dave) if e.type == "presence"] == []


def test_once_both_wrote_they_see_each_other(api_as, record, alice, bob, dave):
    dm, _ = conversations.open_direct(dave["id"], bob["id"])
    messages.send_message(dave["id"], dm["id"], "hi bob")
    messages.send_message(bob["id"], dm["id"], "hi dave")
    rec = record(dave, alice)
    online(bob)
    assert api_as(dave).get(f"/presence?user_id={bob['id']}").json == {"presence": {bob["id"]: "online"}}
    assert [(e.type, e.data) for e in rec.take(dave)] == [("presence", {"user_id": bob["id"], "status": "online"})]
    rec.assert_nothing_for(alice)
    assert live.contacts(bob["id"]) == [dave["id"]]


def test_a_group_counts_at_once_even_with_no_messages(api_as, record, book_club, alice, bob, dave):
    rec = record(alice, dave)
    online(bob)
    assert api_as(alice).get(f"/presence?user_id={bob['id']}").json == {"presence": {bob["id"]: "online"}}
    assert rec.types(alice) == ["presence"]
    rec.assert_nothing_for(dave)
