"""Who may see and do what in the HTML UI, CSRF, and an XSS corpus rendered as text on every page."""
from html.parser import HTMLParser

import pytest

from chat.actions import accounts, conversations, history, inbox, messages

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)

PAGES = ["/people", "/u/alice", "/groups/new", "/c/{cid}", "/c/{cid}/settings", "/c/{cid}/messages?before=2",
         "/c/{cid}/row", "/conversations", "/c/{cid}/m/1/edit"]


@pytest.fixture
def book_club(alice, bob):
    group = conversations.create_group(alice["id"], "book-club", [bob["id"]])
    messages.send_message(alice["id"], group["id"], "members only")
    return group


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(web, book_club, path):
    path = path.format(cid=book_club["id"])
    r = web.get(path)
    assert r.status_code == 302 and r.location.startswith("/login?next=")


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_htmx_requests_get_hx_redirect_not_a_302(web, book_club, path):
    r = web.get(path.format(cid=book_club["id"]), htmx=True)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login?next=")


def test_signed_out_writes_get_hx_redirect(web, alice, book_club):
    web.get("/login")
    r = web.post(f"/c/{book_club['id']}/messages", {"body": "hi"}, htmx=True)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")
    assert len(history.page_messages(alice["id"], book_club["id"])["messages"]) == 1


def test_the_stream_tells_a_signed_out_page_to_reload_instead_of_redirecting(web):
    r = web.get("/events")
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    assert "event: session-expired" in text(r)


@pytest.mark.parametrize("path", ["/c/{cid}", "/c/{cid}/settings", "/c/{cid}/messages?before=2", "/c/{cid}/row",
                                  "/c/{cid}/m/1", "/c/{cid}/m/1/edit", "/c/{cid}/m/1/delete"])
def test_a_non_member_gets_404_for_every_conversation_page(web_as, carol, book_club, path):
    r = web_as(carol).get(path.format(cid=book_club["id"]))
    assert r.status_code == 404
    assert "members only" not in text(r) and "book-club" not in text(r)


@pytest.mark.parametrize("path, form", [
    ("/c/{cid}/messages", {"body": "let me in"}), ("/c/{cid}/read", {"seq": "1"}),
    ("/c/{cid}/rename", {"name": "mine"}), ("/c/{cid}/members", {"username": "carol"}),
    ("/c/{cid}/leave", {}), ("/c/{cid}/m/1/edit", {"body": "changed"}), ("/c/{cid}/m/1/delete", {}),
])
def test_a_non_member_gets_404_for_every_write(web_as, alice, carol, book_club, path, form):
    r = web_as(carol).post(path.format(cid=book_club["id"]), form)
    assert r.status_code == 404
    page = history.page_messages(alice["id"], book_club["id"])
    assert [m["body"] for m in page["messages"]] == ["members only"]


@pytest.mark.parametrize("path", ["/c/not-a-uuid", "/c/00000000-0000-0000-0000-000000000000",
                                  "/c/not-a-uuid/messages?before=1"])
def test_unknown_conversations_are_404(web_as, alice, path):
    assert web_as(alice).get(path).status_code == 404


@pytest.mark.parametrize("path, form", [
    ("/c/{cid}/messages", {"body": "no token"}), ("/c/{cid}/rename", {"name": "no token"}),
    ("/u/bob/message", {}), ("/groups/new", {"name": "no token"}), ("/logout", {}),
])
def test_csrf_is_enforced_on_every_form(web_as, alice, book_club, path, form):
    me = web_as(alice)
    r = me.post(path.format(cid=book_club["id"]), form, csrf=False)
    assert r.status_code == 400 and "expired" in text(r)
    r = me.post(path.format(cid=book_club["id"]), {**form, "csrf_token": "forged"}, csrf=False)
    assert r.status_code == 400
    assert [m["body"] for m in history.page_messages(alice["id"], book_club["id"])["messages"]] == ["members only"]
    assert [c["name"] for c in inbox.list_conversations(alice["id"])] == ["book-club"]


def test_the_csrf_header_works_for_script_requests(web_as, alice, book_club):
    me = web_as(alice)
    r = me.client.post(f"/c/{book_club['id']}/messages", data={"body": "from the script"},
                       headers={"X-CSRFToken": me.token, "HX-Request": "true"})
    assert r.status_code == 201


def test_login_form_is_csrf_protected_too(web, alice):
    web.get("/login")
    r = web.post("/login", {"login": "alice", "password": "password123"}, csrf=False)
    assert r.status_code == 400


def test_pages_carry_a_content_security_policy(web_as, alice, book_club):
    r = web_as(alice).get(f"/c/{book_club['id']}")
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in text(r)
    assert r.headers["X-Content-Type-Options"] == "nosniff"


# --- XSS ----------------------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "'><iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    "https://example.com/\"onmouseover=\"alert(1)",
    "https://example.com/<script>alert(1)</script>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "</textarea><script>alert(1)</script>",
    "<div hx-get=\"/logout\" hx-trigger=\"load\">x</div>",
    "{{ config }} {% print 1 %}",
    "<style>*{display:none}</style>",
    "&lt;already&gt; &amp;",
]


class Audit(HTMLParser):
    """Collects anything in a page that could run script or fetch something we did not put there."""

    def __init__(self):
        super().__init__()
        self.problems = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.problems.append(f"script {attrs}")
        if tag in ("iframe", "object", "embed", "base", "frame"):
            self.problems.append(tag)
        if tag == "style" and "nonce" not in attrs:
            self.problems.append("style without nonce")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}")
            if name in ("href", "src", "action", "hx-get", "hx-post") and value and \
                    not value.startswith(("/", "#", "https://", "http://", "data:image/")):
                self.problems.append(f"{tag} {name}={value}")
            if name in ("hx-get", "hx-post") and "logout" in value:
                self.problems.append(f"{tag} {name}={value}")
            if name == "hx-trigger" and "load" in value:
                self.problems.append(f"{tag} {name}={value}")


def audit(html):
    parser = Audit()
    parser.feed(html)
    return parser.problems


def test_the_xss_corpus_renders_as_text_everywhere(app, web_as, alice, bob):
    mallory = accounts.sign_up("mallory@example.com", "mallory", "password123", XSS[1])
    accounts.update_profile(mallory["id"], bio=XSS[0])
    group = conversations.create_group(mallory["id"], XSS[2], [alice["id"], bob["id"]])
    direct, _ = conversations.open_direct(mallory["id"], alice["id"])
    for payload in XSS:
        messages.send_message(mallory["id"], group["id"], payload)
        messages.send_message(mallory["id"], direct["id"], payload)
    me = web_as(alice)
    pages = ["/", "/people", "/people?q=<script>", "/u/mallory", f"/c/{group['id']}", f"/c/{direct['id']}",
             f"/c/{group['id']}/settings", f"/c/{group['id']}/messages?before=100", f"/c/{group['id']}/row",
             "/conversations"]
    for path in pages:
        r = me.get(path, htmx=path.endswith(("before=100", "/row")))
        assert r.status_code == 200, path
        assert audit(text(r)) == [], path
        assert "alert(1)</script>" not in text(r) and "<img src=x" not in text(r)
    page = text(me.get(f"/c/{group['id']}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ config }}" in page and "&amp;lt;already&amp;gt; &amp;amp;" in page
    assert '<a href="https://example.com/&#34;onmouseover=&#34;alert(1)"' not in page
    # A quote stays inside the link, percent-encoded; a tag ends it.
    assert '<a href="https://example.com/%22onmouseover=%22alert(1)" target="_blank"' in page
    assert '<a href="https://example.com/" target="_blank" rel="noopener noreferrer nofollow">' in page
    for path, form in [("/c/{}/messages", {"body": XSS[0]}), ("/c/{}/rename", {"name": XSS[3]})]:
        r = me.post(path.format(group["id"]), form, htmx=True)
        assert audit(text(r)) == []


def test_stream_fragments_are_escaped_too(app, alice, bob):
    from chat.web import live
    direct, _ = conversations.open_direct(alice["id"], bob["id"])
    message = messages.send_message(alice["id"], direct["id"], XSS[1])[0]
    with app.test_request_context("/events"):
        pairs = list(live.renderer_for(bob["id"])({"id": "e:1-0", "type": "message.created", "data": message}))
    assert pairs[0][0] == "message" and audit(pairs[0][1]) == [] and "&lt;img src=x" in pairs[0][1]
