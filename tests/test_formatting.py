"""Formatting (shared/API.md "Formatting"): ``body_html`` and ``revision``, the same HTML everywhere."""
from html.parser import HTMLParser

import pytest

from chat.actions import messages
from chat.read import formatting

from .test_web_security import XSS, audit
from .web_support import text, web_as_fixture  # noqa: F401  (fixtures)


@pytest.mark.parametrize("body,html", [
    ("**bold** _it_ ~~gone~~ `x<y`", "<p><strong>bold</strong> <em>it</em> <s>gone</s> <code>x&lt;y</code></p>"),
    ("one\ntwo", "<p>one<br>\ntwo</p>"),
    ("> said", "<blockquote>\n<p>said</p>\n</blockquote>"),
    ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
    ("```\n<b>code</b>\n```", "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>"),
    ("# not a heading", "<p># not a heading</p>"),
    ("&lt;typed&gt;", "<p>&amp;lt;typed&amp;gt;</p>"),
    ("see www.example.com", '<p>see <a href="http://www.example.com" target="_blank" '
                            'rel="noopener noreferrer nofollow">www.example.com</a></p>'),
    ("[site](https://example.com \"title\")", '<p><a href="https://example.com" target="_blank" '
                                              'rel="noopener noreferrer nofollow">site</a></p>'),
])
def test_the_contract_subset(body, html):
    assert formatting.to_html(body) == html


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.seen = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))


@pytest.mark.parametrize("body", [
    *XSS, "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](data:text/html,<script>alert(1)</script>)",
    "[x](/logout)", "![pic](https://example.com/a.png)", "<https://example.com/\"onclick=\"x>",
    "[x](https://example.com/\" onclick=\"alert(1))", "`<script>`", "~~<img src=x onerror=alert(1)>~~",
    "[<img src=x onerror=alert(1)>](https://example.com)", "<!-- comment --><b hx-post=/logout>x</b>",
])
def test_nothing_that_runs_or_fetches_gets_through(body):
    html = formatting.to_html(body)
    assert audit(html) == []
    found = Tags()
    found.feed(html)
    assert {tag for tag, _ in found.seen} <= formatting.TAGS, html
    for tag, attrs in found.seen:
        assert set(attrs) <= {"href", "target", "rel", "start"}, html
        if tag == "a" and "href" in attrs:
            assert attrs["href"].startswith(("http://", "https://", "mailto:")), html


def test_revision_and_body_html_through_the_api(api_as, alice, bob, direct):
    api = api_as(alice)
    sent = api.post(f"/conversations/{direct['id']}/messages", json={"body": "**hi** <b>"}).json
    assert sent["revision"] == 1 and sent["body_html"] == "<p><strong>hi</strong> &lt;b&gt;</p>"
    assert sent["body"] == "**hi** <b>" and sent["reply_to"] is None and sent["mentions"] == []
    edited = api.patch(f"/messages/{sent['id']}", json={"body": "_there_"}).json
    assert edited["revision"] == 2 and edited["body_html"] == "<p><em>there</em></p>"
    same = api.patch(f"/messages/{sent['id']}", json={"body": "_there_"}).json
    assert same["revision"] == 2  # nothing changed, nothing moves on
    listed = api_as(bob).get(f"/conversations/{direct['id']}/messages").json["messages"]
    assert [(m["revision"], m["body_html"]) for m in listed] == [(2, "<p><em>there</em></p>")]
    assert api.delete(f"/messages/{sent['id']}").status_code == 204
    gone = api_as(bob).get(f"/conversations/{direct['id']}/messages").json["messages"][0]
    assert gone["revision"] == 3 and gone["body_html"] == "" and gone["body"] == ""


def test_the_xss_corpus_through_body_html(api_as, alice, direct):
    api = api_as(alice)
    for body in XSS:
        message = api.post(f"/conversations/{direct['id']}/messages", json={"body": body}).json
        assert audit(message["body_html"]) == [], body
        assert "<script" not in message["body_html"] and "<img" not in message["body_html"]


def test_page_fragment_stream_and_api_carry_the_same_html(app, web_as, alice, bob, direct):
    from chat.web import live
    message, _ = messages.send_message(alice["id"], direct["id"], "a **b** https://example.com/x")
    assert message["body_html"] in text(web_as(bob).get(f"/c/{direct['id']}"))
    with app.test_request_context("/events"):
        pairs = list(live.renderer_for(bob["id"])({"id": "e:1-0", "type": "message.created", "data": message}))
    assert pairs[0][0] == "message" and message["body_html"] in pairs[0][1]
    edited = messages.edit_message(alice["id"], message["id"], "now _c_")
    with app.test_request_context("/events"):
        pairs = list(live.renderer_for(bob["id"])({"id": "e:2-0", "type": "message.updated", "data": edited}))
    assert "<em>c</em>" in pairs[0][1] and "<strong>b</strong>" not in pairs[0][1]


def test_rendered_once_per_revision():
    formatting._cached.cache_clear()
    for _ in range(3):
        formatting.message_html("m1", 1, "**x**")
    assert formatting._cached.cache_info().misses == 1
    assert formatting.message_html("m1", 2, "_y_") == "<p><em>y</em></p>"
    assert formatting._cached.cache_info().misses == 2
