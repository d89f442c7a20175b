"""Turning stream events into what a tab shows: HTML fragments for htmx, small JSON for our script.

Every fragment here is rendered in an app context, with no request: the stream has none, and a page or a
POST response renders the same fragments through the same functions, so they are byte-identical wherever
they were made (links come from ``helpers.path_for``). Event names sent to the page (``static/js/live.js``
and ``sse-swap`` listen for them):

- ``message``: the ``messages/_message.html`` partial, identical for every viewer, rendered once per
  version per process (``message_fragment``; page loads and POST responses use it too);
- ``conversation``: the viewer's list row as an out-of-band swap (``conversations/_row_oob.html``);
- ``chat-<conversation id>``: out-of-band parts of that conversation's open chat (title, member count,
  settings link; or "no longer a member" and no composer). Only an open chat listens for its own
  (``sse-swap`` in ``conversations/_chat.html``), so a closed one costs nothing and logs nothing;
- ``person``: out-of-band swaps of a person's name, avatar and bio wherever the page shows them
  (``people/_live.html``), for ``user.updated``;
- ``member``, ``read``, ``typing``, ``presence``: small JSON; ``reset``.
"""
import json
from collections import OrderedDict
from threading import Lock

from flask import render_template
from markupsafe import Markup

from ..actions import inbox, reactions
from ..errors import Invalid, NotFound
from .people_lookup import people_cache

_JSON_EVENTS = ("read", "typing", "presence")
_MESSAGE_EVENTS = ("message.created", "message.updated", "message.deleted")
_REACTION_EVENTS = ("reaction.added", "reaction.removed")


class FragmentCache:
    """Rendered message partials by message version and sender identity: rendered once per process."""

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


def message_key(message, sender=None):
    """A message's version (edits and deletes make a new one) and what the partial shows of its sender."""
    shown = ((sender["display_name"], sender["username"], sender.get("avatar_url"), sender.get("bot"))
             if sender else None)
    quoted = message.get("reply_to") or {}
    return (message["id"], message.get("revision"), message.get("edited_at"), message.get("deleted_at"), shown,
            quoted.get("deleted"))


def message_fragment(message):
    """The ``messages/_message.html`` partial for ``message``: the one way every caller renders a message."""
    sender = people_cache.get(message.get("sender_id"))

    def render():
        return render_template("messages/_message.html", message=message, sender=sender,
                               reactor_names=_reactor_names)
    return fragments.get_or_render(message_key(message, sender), render)


def _reactor_names(user_ids):
    """Display names of the people who reacted, for the reaction's title."""
    names = []
    for user_id in user_ids:
        person = people_cache.get(user_id)
        names.append(person["display_name"] if person else "someone")
    return names


def render_message(message):
    """``message_fragment`` for templates (``{{ render_message(message) }}`` in a history page)."""
    return Markup(message_fragment(message))


def chat_event(conversation_id):
    """The stream event name an open chat listens to for changes to its own header."""
    return f"chat-{conversation_id}"


def renderer_for(user_id):
    """The ``render(event)`` that ``sse_response`` calls (in an app context) for ``user_id``'s stream.

    Every new message changes its conversation's row, rarely its header: a stream sends a conversation's
    header parts only when they differ from the last ones it sent.
    """
    headers_sent = {}

    def render(event):
        pairs = []
        for name, data in _render(user_id, event):
            if name.startswith("chat-"):
                if headers_sent.get(name) == data:
                    continue
                if len(headers_sent) >= 1000:
                    headers_sent.clear()
                headers_sent[name] = data
            pairs.append((name, data))
        return pairs
    return render


def _render(user_id, event):
    kind, data = event.get("type"), event.get("data") or {}
    if kind in _MESSAGE_EVENTS:
        yield "message", message_fragment(data)
    elif kind == "conversation.updated" and "members" in data:
        yield from _conversation(user_id, data)
    elif kind == "conversation.updated" and data.get("conversation_id"):
        yield from _row(user_id, data["conversation_id"])
    elif kind in ("member.added", "member.removed"):
        if data.get("user_id") == user_id:
            yield from _row(user_id, data.get("conversation_id"))
        yield "member", json.dumps({"type": kind, **data})
    elif kind in _REACTION_EVENTS:
        # The event names the message; the tab gets the message re-rendered, as for an edit.
        try:
            yield "message", message_fragment(reactions.get_message(user_id, data.get("message_id")))
        except (NotFound, Invalid):  # no longer a member, or a message since gone
            return
    elif kind == "user.updated" and data.get("id"):
        people_cache.remember(data)  # messages rendered from now on show the new name and picture
        yield "person", render_template("people/_live.html", person=data)
    elif kind in _JSON_EVENTS:
        yield kind, json.dumps(data)
    elif kind == "reset":
        yield "reset", "{}"


def _conversation(user_id, conversation):
    # The row goes last: the event's id travels with the last pair, and the script tracks "conversation".
    yield chat_event(conversation["id"]), render_template("conversations/_header_oob.html",
                                                          conversation=conversation, viewer_id=user_id)
    yield "conversation", render_template("conversations/_row_oob.html", conversation=conversation,
                                          viewer_id=user_id)


def _row(user_id, conversation_id):
    """A fresh list row and header for ``user_id``, or their removal when they are no longer a member."""
    try:
        conversation = inbox.get_conversation(user_id, conversation_id)
    except NotFound:
        yield chat_event(conversation_id), render_template("conversations/_header_gone.html",
                                                           conversation_id=conversation_id)
        yield "conversation", render_template("conversations/_row_gone.html", conversation_id=conversation_id)
        return
    yield from _conversation(user_id, conversation)
