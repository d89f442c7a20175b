"""A message body to safe HTML (shared/API.md "Formatting"), rendered once per message revision.

``body`` stays the text as typed; ``to_html(body)`` is its rendering: markdown-it-py's CommonMark with raw
HTML, images, headings and entities off, strikethrough and bare-URL linking on, then cleaned by nh3 to the
few tags and attributes that subset makes (links only to http, https and mailto, with
``rel="noopener noreferrer nofollow"``). Whatever the Markdown library lets through, the sanitizer is the
wall: no tag, attribute or URL scheme outside the lists below reaches a page.
"""
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

TAGS = {"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "*": set()}  # "*": no attribute on every tag (nh3 allows lang, title)
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

# Entities stay text ("&lt;" shows as typed); headings and images are not in the contract's subset.
_md = (MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
       .enable(["strikethrough", "linkify"])
       .disable(["image", "heading", "lheading", "html_block", "html_inline", "entity"]))
_md.linkify.set({"fuzzy_email": False})


def to_html(body: str) -> str:
    """``body`` rendered and sanitized; an empty body is an empty string."""
    if not body:
        return ""
    rendered = _md.render(body)
    return nh3.clean(rendered, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     url_relative="deny", link_rel=LINK_REL, strip_comments=True,
                     set_tag_attribute_values={"a": {"target": "_blank"}}).strip()


@lru_cache(maxsize=4096)
def _cached(message_id: str, revision: int, body: str) -> str:
    return to_html(body)


def message_html(message_id: str, revision: int | None, body: str) -> str:
    """``to_html(body)`` cached by message and revision (the body is part of the key, so a stale entry
    can never be served even if a revision were reused)."""
    return _cached(str(message_id), revision or 0, body or "")
