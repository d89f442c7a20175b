"""A message body to safe HTML (shared/API.md "Formatting"), rendered once per message revision.

``body`` stays the text as typed; ``to_html(body)`` is its rendering: markdown-it-py's CommonMark with raw
HTML, images, headings and entities off, strikethrough and bare-URL linking on, then cleaned by nh3 to the
few tags and attributes that subset makes (links only to http, https and mailto, with
``rel="noopener noreferrer nofollow"``). Whatever the Markdown library lets through, the sanitizer is the
wall: no tag, attribute or URL scheme outside the lists below reaches a page.

Mentions (shared/API.md "Mentions"): ``@username`` in text (never in code, never inside a link) is found by
one core rule, used both to store whom a message mentions (``mentioned``) and to render those mentions as
links to the profile. Only mentions of members (the message's stored ``mentions``) become links; any other
``@name`` stays text. The rule marks a mention as a bare ``<span>``, which no typed text can produce (raw
HTML is off); after the sanitizer, each one becomes its link.
"""
import re
from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

TAGS = {"span", "p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "*": set()}  # "*": no attribute on every tag (nh3 allows lang, title)
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

# Entities stay text ("&lt;" shows as typed); headings and images are not in the contract's subset.
_md = (MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
       .enable(["strikethrough", "linkify"])
       .disable(["image", "heading", "lheading", "html_block", "html_inline", "entity"]))
_md.linkify.set({"fuzzy_email": False})

EVERYONE = "everyone"
# "@name" not glued to a word, an address or a path before it; usernames are [a-z0-9_]{3,32}.
MENTION_RE = re.compile(r"(?<![\w@./])@([A-Za-z0-9_]{3,32})(?![\w@])")
_MARKED_RE = re.compile(r"<span>@([a-z0-9_]{3,32})</span>")


def _mentions_rule(state):
    """Collect ``@name``s of text tokens outside links into ``env["mentioned"]``; mark those in
    ``env["linked"]`` (names to user ids) for ``_link_mentions``."""
    found, linked = state.env.setdefault("mentioned", []), state.env.get("linked") or {}
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            children.extend(_split_mentions(token, found, linked))
        block.children = children


def _split_mentions(token, found, linked):
    pieces, last = [], 0
    for match in MENTION_RE.finditer(token.content):
        name = match.group(1).lower()
        found.append(name)
        if name not in linked:
            continue
        pieces.append(_token("text", token.content[last:match.start()]))
        pieces.append(_token("html_inline", f"<span>@{name}</span>"))
        last = match.end()
    if not pieces:
        return [token]
    pieces.append(_token("text", token.content[last:]))
    return [p for p in pieces if p.content]


def _token(kind, content):
    made = Token(kind, "", 0)
    made.content = content
    return made


_md.core.ruler.push("mentions", _mentions_rule)


def mentioned(body: str) -> tuple[list[str], bool]:
    """``(usernames, everyone)`` that ``body`` mentions outside code and links, lowercased, in order."""
    if not body or "@" not in body:
        return [], False
    env = {}
    _md.parse(body, env)
    names = list(dict.fromkeys(env.get("mentioned", ())))
    return [n for n in names if n != EVERYONE], EVERYONE in names


def _link_mentions(html: str, linked: dict[str, str]) -> str:
    def link(match):
        name, user_id = match.group(1), linked.get(match.group(1))
        if user_id == EVERYONE:
            return f'<span class="mention" data-mention="{EVERYONE}">@{EVERYONE}</span>'
        if user_id is None:
            return escape(match.group(0))
        return (f'<a class="mention" href="/u/{name}" data-mention="{escape(user_id)}">@{name}</a>')
    return _MARKED_RE.sub(link, html)


def to_html(body: str, linked: dict[str, str] | None = None) -> str:
    """``body`` rendered and sanitized; an empty body is an empty string. ``linked`` maps the usernames
    the message mentions to user ids (``"everyone"`` to itself when ``@everyone`` counted)."""
    if not body:
        return ""
    linked = linked or {}
    rendered = _md.render(body, {"linked": linked})
    cleaned = nh3.clean(rendered, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                        url_relative="deny", link_rel=LINK_REL, strip_comments=True,
                        set_tag_attribute_values={"a": {"target": "_blank"}}).strip()
    return _link_mentions(cleaned, linked) if linked else cleaned


@lru_cache(maxsize=4096)
def _cached(message_id: str, revision: int, body: str, linked: tuple) -> str:
    return to_html(body, dict(linked))


def message_html(message_id: str, revision: int | None, body: str, linked: dict[str, str] | None = None) -> str:
    """``to_html(body, linked)`` cached by message and revision (the body and mentions are part of the key,
    so a stale entry can never be served even if a revision were reused)."""
    return _cached(str(message_id), revision or 0, body or "", tuple(sorted((linked or {}).items())))
