"""The people directory, profile cards, and the Message button that opens a direct conversation."""
from flask import render_template, request, url_for
from flask_login import current_user

from ..actions import conversations, users
from ..security import per_user, without_query
from . import bp
from .chat import chat_context
from .helpers import is_htmx, redirect_or_fragment, signed_in


@bp.get("/people")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def people():
    q = request.args.get("q", "")[:100]
    found = users.search_users(current_user.id, q, limit=60)
    if is_htmx() and request.headers.get("HX-Target") == "people-results":
        return render_template("people/_results.html", people=found, q=q)
    return render_template("people/index.html", people=found, q=q)


@bp.get("/u/<username>")
@signed_in
def profile(username):
    person = users.get_user(current_user.id, username)
    return render_template("people/show.html", person=person)


@bp.post("/u/<username>/message")
@signed_in
def message(username):
    """Open (or start) the direct conversation; htmx gets the chat panel, a plain form the chat page."""
    person = users.get_user(current_user.id, username)
    conversation, _created = conversations.open_direct(current_user.id, person["id"])
    location = url_for("web.conversation", conversation_id=conversation["id"])
    if not is_htmx():
        return redirect_or_fragment(location)
    return render_template("conversations/_panel.html", **chat_context(conversation["id"]))
