"""Bad input is a 4xx naming the field, never a 500, and nothing is stored that cannot be served back.

Each row of the security audit's S6 table (and S10's NaN metadata) is a case here, on SQLite and Postgres.
"""
import json

import pytest

from chat.actions import conversations

from .web_support import web_as_fixture, web_fixture  # noqa: F401  (fixtures)

BIG = str(2**70)
MAX = 2**63 - 1


@pytest.fixture
def direct(alice, bob):
    return conversations.open_direct(alice["id"], bob["id"])[0]


@pytest.fixture
def group(alice, bob):
    return conversations.create_group(alice["id"], "book-club", [bob["id"]])


def raw(api, method, path, text):
    """Send ``text`` verbatim as a JSON body (so it may hold escapes Python's encoder would not write)."""
    return api.client.open("/api/v1" + path, method=method, data=text.encode("utf-8"),
                           content_type="application/json", headers=api._headers(None))


def strict(response):
    """The response body parsed as strict JSON (no NaN/Infinity)."""
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


def count(app, table):
    with app.extensions["chat.db"].engine.connect() as conn:
        return conn.exec_driver_sql(f"select count(*) from {table}").scalar()


# (method, path template, JSON text, expected status, field named or None)
SURROGATE, NUL = '"\\ud800"', '"a\\u0000b"'
JSON_CASES = [
    ("POST", "/conversations/{d}/messages", '{"body": %s}' % SURROGATE, 422, "body"),
    ("POST", "/conversations/{d}/messages", '{"body": "\\udfffx"}', 422, "body"),
    ("POST", "/conversations/{d}/messages", '{"body": %s}' % NUL, 422, "body"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "client_id": "\\udfff"}', 422, "client_id"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "client_id": %s}' % NUL, 422, "client_id"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": "\\u0000"}}', 422, "metadata"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"\\u0000": 1}}', 422, "metadata"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": %s}}' % SURROGATE, 422, "metadata"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": NaN}}', 400, None),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": Infinity}}', 400, None),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": -Infinity}}', 400, None),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": 1e400}}', 422, "metadata"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": {"a": %s}}' % BIG, 422, "metadata"),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "metadata": %s}' % ('{"a": ' * 40 + "1" + "}" * 40),
     422, "metadata"),
    ("POST", "/conversations/{d}/messages", "[" * 3000 + "]" * 3000, 400, None),
    ("POST", "/conversations/{d}/messages", '{"body": ' + "[" * 100000 + "]" * 100000 + "}", 400, None),
    ("POST", "/conversations/{d}/messages", '{"body": "x", "\\u0000": 1}', 422, "\\x00"),
    ("POST", "/conversations/{d}/messages", '{"body": "x"', 400, None),
    ("POST", "/conversations/{d}/read", '{"seq": 1e400}', 422, "seq"),
    ("POST", "/conversations/{d}/read", '{"seq": -1e400}', 422, "seq"),
    ("POST", "/conversations/{d}/read", '{"seq": %s}' % BIG, 422, "seq"),
    ("POST", "/conversations/{d}/read", '{"seq": %d}' % (MAX + 1), 422, "seq"),
    ("PATCH", "/me", '{"display_name": %s}' % SURROGATE, 422, "display_name"),
    ("PATCH", "/me", '{"display_name": %s}' % NUL, 422, "display_name"),
    ("PATCH", "/me", '{"bio": %s}' % SURROGATE, 422, "bio"),
    ("PATCH", "/me", '{"avatar_url": "https://x/\\u0000"}', 422, "avatar_url"),
    ("POST", "/conversations", '{"name": %s}' % SURROGATE, 422, "name"),
    ("POST", "/conversations", '{"name": %s}' % NUL, 422, "name"),
    ("PATCH", "/conversations/{g}", '{"name": %s}' % SURROGATE, 422, "name"),
    ("POST", "/conversations/{g}/members", '{"user_id": %s}' % NUL, 422, "user_id"),
    ("PATCH", "/messages/{m}", '{"body": %s}' % SURROGATE, 422, "body"),
    ("POST", "/auth/signup", '{"email": "z@example.com", "username": "zed", "password": "pass\\ud800word"}',
     422, "password"),
    ("POST", "/auth/signup", '{"email": "z@example.com", "username": "zed", "password": "password1",'
     ' "display_name": %s}' % NUL, 422, "display_name"),
    ("POST", "/auth/token", '{"login": "ali\\u0000ce", "password": "password123"}', 422, "login"),
    ("POST", "/auth/token", '{"login": "alice", "password": %s}' % SURROGATE, 422, "password"),
    ("POST", "/presence", '{"status": %s}' % NUL, 422, "status"),
]


@pytest.mark.parametrize("method,path,text,status,field", JSON_CASES)
def test_bad_json_input_is_a_4xx_naming_the_field(app, api_as, alice, direct, group, method, path, text,
                                                  status, field):
    a = api_as(alice)
    first = a.post(f"/conversations/{direct['id']}/messages", json={"body": "first"}).json
    before = count(app, "messages")
    r = raw(a, method, path.format(d=direct["id"], g=group["id"], m=first["id"]), text)
    assert r.status_code == status, r.get_data(as_text=True)
    error = strict(r)["error"]
    assert error["code"] == ("invalid" if status == 422 else "malformed_json")
    assert error.get("field") == field
    assert count(app, "messages") == before  # nothing half-written
    page = a.get(f"/conversations/{direct['id']}/messages")
    assert page.status_code == 200 and [m["body"] for m in strict(page)["messages"]] == ["first"]


@pytest.mark.parametrize("query,field", [
    (f"before={BIG}", "before"), (f"after={BIG}", "after"), (f"before={MAX + 1}", "before"),
    (f"after={MAX + 1}", "after"), (f"limit={BIG}", "limit"), ("after=1e400", "after"), ("before=nan", "before"),
    ("after=inf", "after"),
])
def test_huge_cursors_on_the_api_are_a_422(api_as, alice, direct, query, field):
    r = api_as(alice).get(f"/conversations/{direct['id']}/messages?{query}")
    assert r.status_code == 422 and r.json["error"]["field"] == field


def test_the_largest_cursor_is_still_fine(api_as, alice, direct):
    a = api_as(alice)
    a.post(f"/conversations/{direct['id']}/messages", json={"body": "hi"})
    assert [m["body"] for m in a.get(f"/conversations/{direct['id']}/messages?before={MAX}").json["messages"]] \
        == ["hi"]
    assert a.get(f"/conversations/{direct['id']}/messages?after={MAX}").json["messages"] == []
    assert a.post(f"/conversations/{direct['id']}/read", json={"seq": MAX}).status_code == 204


@pytest.mark.parametrize("path", ["/users/%00", "/users/a%00b", "/users/%ED%A0%80"])
def test_unstorable_path_keys_name_nothing(api_as, alice, path):
    r = api_as(alice).get(path)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_nul_in_a_member_user_id_path_is_404(api_as, alice, group):
    assert api_as(alice).delete(f"/conversations/{group['id']}/members/%00").status_code == 404


@pytest.mark.parametrize("path", ["/c/{d}?before=" + BIG, "/c/{d}/messages?before=" + BIG,
                                  "/c/{d}/messages?after=" + BIG])
def test_huge_cursors_on_web_pages_are_a_4xx(web_as, alice, direct, path):
    r = web_as(alice).get(path.format(d=direct["id"]), htmx="messages?" in path)
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("path", ["/c/{d}/m/" + BIG, "/c/{d}/m/" + BIG + "/edit", "/c/{d}/m/" + BIG + "/delete"])
def test_huge_seq_in_a_web_path_is_404(web_as, alice, direct, path):
    assert web_as(alice).get(path.format(d=direct["id"])).status_code == 404


@pytest.mark.parametrize("path", ["/u/%00", "/u/a%00"])
def test_nul_in_a_web_profile_path_is_404(web_as, alice, path):
    me = web_as(alice)
    assert me.get(path).status_code == 404
    assert me.post(path + "/message").status_code == 404


def test_nul_in_the_web_sign_in_is_refused(web, alice):
    r = web.post("/login", {"login": "ali\x00ce", "password": "password123"})
    assert r.status_code == 422


def test_nul_in_group_member_usernames_is_a_form_error(web_as, alice, bob):
    r = web_as(alice).post("/groups/new", {"name": "club", "members": "bob ca\x00rol"})
    assert r.status_code == 422


def test_nul_in_the_web_composer_is_refused(app, web_as, alice, direct):
    r = web_as(alice).post(f"/c/{direct['id']}/messages", {"body": "a\x00b"}, htmx=True)
    assert r.status_code == 422 and count(app, "messages") == 0
