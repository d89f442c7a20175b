"""What every page shares: the viewer, the conversation list in the sidebar, titles, and security headers."""
import secrets
from datetime import UTC, datetime

from flask import g, has_request_context, request
from flask_login import current_user

from ..actions import inbox, live
from ..actions.messages import MAX_ATTACHMENTS
from ..actions.validate import MAX_BODY
from .helpers import bind_paths, dom_id, message_in_context, path_for
from .live import chat_event, render_message

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data: blob: https:; "
       "media-src 'self' https:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def sidebar_conversations():
    """The signed-in person's conversations, newest activity first (loaded once per request)."""
    if "sidebar_conversations" not in g:
        g.sidebar_conversations = inbox.list_conversations(current_user.id, limit=100, archived=showing_archived())
    return g.sidebar_conversations


def showing_archived():
    """Whether the list shows archived conversations (``?archived=1``) instead of the others."""
    return has_request_context() and request.args.get("archived") == "1"


def other_member(conversation, viewer_id):
    """The other person in a direct conversation (None in a group)."""
    if conversation["kind"] != "direct":
        return None
    others = [m for m in conversation["members"] if m["id"] != viewer_id]
    return others[0] if others else None


def conversation_title(conversation, viewer_id):
    other = other_member(conversation, viewer_id)
    if other is not None:
        return other["display_name"]
    return conversation.get("name") or "Conversation"


def presence_status(user_id):
    """"online", "away" or "offline" for someone who shares a conversation with the viewer, else "".

    Pages render it; stream fragments (rendered without a request) leave it empty and the script fills it
    from presence events.
    """
    if not has_request_context() or request.endpoint == "web.events" or not current_user.is_authenticated:
        return ""
    if "presence" not in g:
        g.presence = live.presence_of(current_user.id, live.contacts(current_user.id))
    return g.presence.get(user_id, "")


def reads_by_member(conversation):
    """``{user_id: last_read_seq}``: what the page needs to say "Seen" and "Seen by N"."""
    return {m["id"]: m["last_read_seq"] for m in conversation["members"]}


def joined_by_member(conversation):
    """``{user_id: joined_at}``: "Seen by everyone" counts only those who were members when it was sent."""
    return {m["id"]: m.get("joined_at") for m in conversation["members"]}


def mention_choices(conversation):
    """What the composer's @ picker offers: the other members (and ``everyone`` in a group)."""
    me = current_user.id
    found = [{"username": m["username"], "name": m["display_name"]} for m in conversation["members"] if m["id"] != me]
    if conversation["kind"] == "group":
        found.append({"username": "everyone", "name": "Everyone in this group"})
    return found


def names_by_member(conversation):
    return {m["id"]: m["display_name"] for m in conversation["members"]}


def pending_placeholder(conversation_id):
    """A message that stands for one not yet sent: the composer fills in a clone of its partial."""
    return {"id": "pending", "seq": 0, "kind": "text", "conversation_id": conversation_id, "sender_id": current_user.id,
            "client_id": None, "body": "…", "created_at": datetime.now(UTC).isoformat(), "edited_at": None,
            "deleted_at": None, "attachments": [{"url": "", "filename": "", "content_type": "application/octet-stream",
                                                 "size": 0}]}


def csp_nonce():
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_app(app):
    bind_paths(app)
    app.jinja_env.globals.update(sidebar_conversations=sidebar_conversations, other_member=other_member,
                                 conversation_title=conversation_title, dom_id=dom_id, csp_nonce=csp_nonce,
                                 reads_by_member=reads_by_member, names_by_member=names_by_member,
                                 joined_by_member=joined_by_member, showing_archived=showing_archived,
                                 mention_choices=mention_choices,
                                 presence_status=presence_status, path_for=path_for,
                                 message_in_context=message_in_context,
                                 render_message=render_message, chat_event=chat_event,
                                 pending_placeholder=pending_placeholder, max_body_length=MAX_BODY,
                                 max_attachments=MAX_ATTACHMENTS, typing_shown=live.typing_shown)

    @app.after_request
    def security_headers(response):
        if response.mimetype == "text/html" and not request.path.startswith("/api/"):
            response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Vary", "HX-Request")
        return response
