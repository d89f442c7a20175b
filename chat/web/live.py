"""Turning stream events into what a tab shows: HTML fragments for htmx, small JSON for our script.

Event names sent to the page (``static/js/live.js`` and ``sse-swap`` listen for them):
``message`` (the message partial; identical for every viewer, so rendered once per version per process),
``conversation`` (the list row, as out-of-band swaps), ``member``, ``read``, ``typing``, ``presence``,
``reset``.
"""
import json
from collections import OrderedDict
from threading import Lock

from flask import current_app, has_request_context, render_template

from ..actions import inbox
from ..errors import NotFound
from .people_lookup import people_cache

_JSON_EVENTS = ("read", "typing", "presence")


class FragmentCache:
    """Rendered message partials by message version (id, edited_at, deleted_at): rendered once per process."""

    def __init__(self, size=2000):
        self.size, self._items, self._lock = size, OrderedDict(), Lock()
        self.renders = 0

    def get_or_render(self, key, render):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        html = render()
        with self._lock:
            self.renders += 1
            self._items[key] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return html


fragments = FragmentCache()


def message_key(message):
    return (message["id"], message.get("edited_at"), message.get("deleted_at"))


def message_fragment(message):
    """The ``messages/_message.html`` partial for ``message`` (cached by version)."""
    def render():
        sender = people_cache.get(message.get("sender_id"))
        people = {sender["id"]: sender} if sender else {}
        return render_template("messages/_message.html", message=message, people=people)
    return fragments.get_or_render(message_key(message), render)


def renderer_for(user_id, app=None):
    """The ``render(event)`` that ``sse_response`` calls for ``user_id``'s stream."""
    app = app or current_app._get_current_object()

    def render(event):
        if has_request_context():
            return list(_render(user_id, event))
        with app.test_request_context("/events"):
            return list(_render(user_id, event))
    return render


def _render(user_id, event):
    kind, data = event.get("type"), event.get("data") or {}
    if kind in ("message.created", "message.updated", "message.deleted"):
        yield "message", message_fragment(data)
    elif kind == "conversation.updated" and "members" in data:
        yield "conversation", render_template("conversations/_row_oob.html", conversation=data,
                                              viewer_id=user_id)
    elif kind == "conversation.updated" and data.get("conversation_id"):
        yield from _row(user_id, data["conversation_id"])
    elif kind in ("member.added", "member.removed"):
        if data.get("user_id") == user_id:
            yield from _row(user_id, data.get("conversation_id"))
        yield "member", json.dumps({"type": kind, **data})
    elif kind in _JSON_EVENTS:
        yield kind, json.dumps(data)
    elif kind == "reset":
        yield "reset", "{}"


def _row(user_id, conversation_id):
    """A fresh list row for ``user_id``, or its removal when they are no longer a member."""
    try:
        conversation = inbox.get_conversation(user_id, conversation_id)
    except NotFound:
        yield "conversation", render_template("conversations/_row_gone.html", conversation_id=conversation_id)
        return
    yield "conversation", render_template("conversations/_row_oob.html", conversation=conversation,
                                          viewer_id=user_id)
