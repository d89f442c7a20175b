"""Direct conversations, groups, membership and roles — with a negative test for every rule."""
import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from chat.actions import attachments, conversations, members, messages
from chat.errors import Forbidden, NotFound

from .sql_support import statements_run

NO_SUCH = "00000000-0000-4000-8000-000000000000"


def test_direct_is_unique_per_pair(api_as, alice, bob):
    r1 = api_as(alice).post("/conversations/direct", json={"user_id": bob["id"]})
    r2 = api_as(bob).post("/conversations/direct", json={"user_id": alice["id"]})
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json["id"] == r2.json["id"]
    assert r1.json["kind"] == "direct" and r1.json["name"] is None
    assert sorted(m["username"] for m in r1.json["members"]) == ["alice", "bob"]
    assert r1.json["last_message"] is None and r1.json["unread_count"] == 0 and r1.json["last_seq"] == 0


def test_direct_with_yourself_is_422(api_as, alice):
    r = api_as(alice).post("/conversations/direct", json={"user_id": alice["id"]})
    assert r.status_code == 422 and r.json["error"]["field"] == "user_id"


@pytest.mark.parametrize("user_id,status", [(NO_SUCH, 404), ("not-a-uuid", 422), (None, 422)])
def test_direct_with_unknown_user(api_as, alice, user_id, status):
    r = api_as(alice).post("/conversations/direct", json={"user_id": user_id})
    assert r.status_code == status


def test_create_group_makes_creator_owner(api_as, alice, bob, carol):
    r = api_as(alice).post("/conversations", json={"name": " book-club ", "member_ids": [bob["id"], carol["id"],
                                                                                       bob["id"], alice["id"]]})
    assert r.status_code == 201
    assert r.json["name"] == "book-club" and r.json["kind"] == "group" and r.json["my_role"] == "owner"
    roles = {m["username"]: m["role"] for m in r.json["members"]}
    assert roles == {"alice": "owner", "bob": "member", "carol": "member"}
    assert api_as(bob).get(f"/conversations/{r.json['id']}").json["my_role"] == "member"


@pytest.mark.parametrize("body,field", [
    ({"name": "", "member_ids": []}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "ok", "member_ids": "bob"}, "member_ids"),
    ({"name": "ok", "member_ids": [NO_SUCH]}, "member_ids"),
    ({"name": "ok", "member_ids": ["nope"]}, "member_ids"),
])
def test_create_group_validation(api_as, alice, body, field):
    r = api_as(alice).post("/conversations", json=body)
    assert r.status_code == 422 and r.json["error"]["field"] == field
    assert api_as(alice).get("/conversations").json["conversations"] == []  # nothing half-written


def test_non_member_gets_404_for_everything(api_as, book_club, dave):
    d, cid = api_as(dave), book_club["id"]
    assert d.get(f"/conversations/{cid}").status_code == 404
    assert d.get(f"/conversations/{cid}/messages").status_code == 404
    assert d.post(f"/conversations/{cid}/messages", json={"body": "hi"}).status_code == 404
    assert d.patch(f"/conversations/{cid}", json={"name": "mine"}).status_code == 404
    assert d.post(f"/conversations/{cid}/members", json={"user_id": dave["id"]}).status_code == 404
    assert d.delete(f"/conversations/{cid}/members/{dave['id']}").status_code == 404
    assert d.post(f"/conversations/{cid}/read", json={"seq": 1}).status_code == 404
    assert d.get("/conversations").json["conversations"] == []
    assert d.get("/conversations/not-a-uuid").status_code == 404


def test_rename_owner_and_admin_only(api_as, book_club, alice, bob, carol):
    cid = book_club["id"]
    r = api_as(bob).patch(f"/conversations/{cid}", json={"name": "bob's club"})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    members.remove_member(alice["id"], cid, carol["id"])
    members.add_member(alice["id"], cid, carol["id"], role="admin")
    r = api_as(carol).patch(f"/conversations/{cid}", json={"name": "Readers"})
    assert r.status_code == 200 and r.json["name"] == "Readers"
    r = api_as(alice).patch(f"/conversations/{cid}", json={"name": " "})
    assert r.status_code == 422 and r.json["error"]["field"] == "name"


def test_cannot_rename_a_direct_conversation(api_as, alice, bob):
    cid = api_as(alice).post("/conversations/direct", json={"user_id": bob["id"]}).json["id"]
    r = api_as(alice).patch(f"/conversations/{cid}", json={"name": "us"})
    assert r.status_code == 422


def test_add_member_rules(api_as, book_club, alice, bob, dave):
    cid = book_club["id"]
    r = api_as(bob).post(f"/conversations/{cid}/members", json={"user_id": dave["id"]})
    assert r.status_code == 403
    r = api_as(alice).post(f"/conversations/{cid}/members", json={"user_id": dave["id"]})
    assert r.status_code == 201 and "dave" in {m["username"] for m in r.json["members"]}
    r = api_as(alice).post(f"/conversations/{cid}/members", json={"user_id": dave["id"]})
    assert r.status_code == 409
    r = api_as(alice).post(f"/conversations/{cid}/members", json={"user_id": NO_SUCH})
    assert r.status_code == 422 and r.json["error"]["field"] == "user_id"


def test_new_member_starts_with_history_read(api_as, book_club, alice, dave):
    messages.send_message(alice["id"], book_club["id"], "before dave")
    members.add_member(alice["id"], book_club["id"], dave["id"])
    convo = api_as(dave).get(f"/conversations/{book_club['id']}").json
    assert convo["unread_count"] == 0
    assert [m["body"] for m in api_as(dave).get(f"/conversations/{book_club['id']}/messages").json["messages"]] \
        == ["before dave", "Alice added Dave."]


def test_remove_and_leave_rules(api_as, book_club, alice, bob, carol):
    cid = book_club["id"]
    assert api_as(bob).delete(f"/conversations/{cid}/members/{carol['id']}").status_code == 403
    assert api_as(bob).delete(f"/conversations/{cid}/members/{alice['id']}").status_code == 403
    assert api_as(bob).delete(f"/conversations/{cid}/members/{bob['id']}").status_code == 204  # leave
    assert api_as(bob).get(f"/conversations/{cid}").status_code == 404
    assert api_as(alice).delete(f"/conversations/{cid}/members/{carol['id']}").status_code == 204
    assert api_as(carol).get(f"/conversations/{cid}/messages").status_code == 404
    assert api_as(alice).delete(f"/conversations/{cid}/members/{carol['id']}").status_code == 404


def test_admin_cannot_remove_owner_or_admins(app, book_club, alice, bob, carol, dave):
    cid = book_club["id"]
    members.add_member(alice["id"], cid, dave["id"], role="admin")
    with pytest.raises(Forbidden):
        members.remove_member(dave["id"], cid, alice["id"])
    members.remove_member(alice["id"], cid, carol["id"])
    members.add_member(alice["id"], cid, carol["id"], role="admin")
    with pytest.raises(Forbidden):
        members.remove_member(dave["id"], cid, carol["id"])
    members.remove_member(dave["id"], cid, bob["id"])  # admins remove members


def test_last_owner_leaving_hands_ownership_on(api_as, book_club, alice, bob, carol, dave):
    cid = book_club["id"]
    members.add_member(alice["id"], cid, dave["id"], role="admin")
    assert api_as(alice).delete(f"/conversations/{cid}/members/{alice['id']}").status_code == 204
    roles = {m["username"]: m["role"] for m in api_as(bob).get(f"/conversations/{cid}").json["members"]}
    assert roles == {"bob": "member", "carol": "member", "dave": "owner"}  # the admin first
    members.remove_member(dave["id"], cid, dave["id"])
    roles = {m["username"]: m["role"] for m in api_as(bob).get(f"/conversations/{cid}").json["members"]}
    assert sorted(roles.values()) == ["member", "owner"]  # then a longest-standing member (both joined at once)


def test_cannot_leave_a_direct_conversation(api_as, alice, bob):
    cid = api_as(alice).post("/conversations/direct", json={"user_id": bob["id"]}).json["id"]
    assert api_as(alice).delete(f"/conversations/{cid}/members/{alice['id']}").status_code == 422


def test_list_newest_activity_first_with_preview_and_unread(api_as, alice, bob, carol, book_club):
    direct = conversations.open_direct(alice["id"], bob["id"])[0]
    messages.send_message(bob["id"], direct["id"], "first")
    messages.send_message(carol["id"], book_club["id"], "group news")
    messages.send_message(bob["id"], direct["id"], "latest")
    listed = api_as(alice).get("/conversations").json["conversations"]
    assert [c["id"] for c in listed] == [direct["id"], book_club["id"]]
    assert listed[0]["last_message"]["body"] == "latest" and listed[0]["unread_count"] == 2
    assert listed[1]["last_message"]["body"] == "group news" and listed[1]["unread_count"] == 1
    older = api_as(alice).get("/conversations?limit=1&before=" + listed[0]["updated_at"].replace("+", "%2B"))
    assert [c["id"] for c in older.json["conversations"]] == [book_club["id"]]
    r = api_as(alice).get("/conversations?before=yesterday")
    assert r.status_code == 422 and r.json["error"]["field"] == "before"


def test_unread_is_capped_for_display(app, alice, bob):
    direct = conversations.open_direct(alice["id"], bob["id"])[0]
    for i in range(105):
        messages.send_message(bob["id"], direct["id"], f"m{i}")
    from chat.actions import inbox
    assert inbox.list_conversations(alice["id"])[0]["unread_count"] == 100  # shown as 99+


def test_list_costs_a_constant_number_of_queries(app, alice, bob, carol):
    from chat.actions import inbox
    from chat.db import get_db
    groups = []
    for i in range(12):
        groups.append(conversations.create_group(alice["id"], f"g{i}", [bob["id"], carol["id"]]))
        messages.send_message(bob["id"], groups[-1]["id"], "hello")

    def data_queries():
        with statements_run(get_db().engine) as statements:
            assert len(inbox.list_conversations(alice["id"])) == 12
        return [s for s in statements if "set_config" not in s and not s.startswith("BEGIN")]
    found = data_queries()
    assert len(found) == 2, found  # rows and members: not one per conversation (no last message has files)
    for group in groups[:3]:
        picture = attachments.upload(bob["id"], FileStorage(stream=io.BytesIO(_png()), filename="p.png"))
        messages.send_message(bob["id"], group["id"], "", kind="image", attachment_ids=[picture["id"]])
    found = data_queries()
    assert len(found) == 3, found  # and one for all the attachments of those that have some


def _png():
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, "PNG")
    return out.getvalue()


def test_get_unknown_conversation(api_as, alice):
    assert api_as(alice).get(f"/conversations/{NO_SUCH}").status_code == 404
    with pytest.raises(NotFound):
        conversations.rename_group(alice["id"], NO_SUCH, "x")
