"""A member's own settings for a conversation (notification level, archive) and "Mark as unread", as plain
forms: they work without JavaScript (post, then redirect); htmx posts get 204 and the stream updates the list."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from ..actions import history, settings
from ..errors import Invalid
from . import bp
from .helpers import is_htmx, safe_next, signed_in


@bp.post("/c/<conversation_id>/notifications")
@signed_in
def conversation_settings(conversation_id):
    """The header menu's and the settings page's form: ``notify`` (all, mentions, none, or "default")
    and/or ``archived`` ("1" or "0")."""
    changes = {}
    if "notify" in request.form:
        notify = request.form["notify"]
        changes["notify"] = None if notify == "default" else notify
    if "archived" in request.form:
        if request.form["archived"] not in ("0", "1"):
            raise Invalid("archived is 1 or 0.", field="archived")
        changes["archived"] = request.form["archived"] == "1"
    conversation = settings.update_settings(current_user.id, conversation_id, **changes)
    if is_htmx():
        return "", 204
    if conversation["archived"]:
        return redirect(url_for("web.home"), code=303)  # it has left the list
    default = url_for("web.conversation", conversation_id=conversation_id)
    return redirect(safe_next(request.form.get("next"), default), code=303)


@bp.route("/c/<conversation_id>/m/<int:seq>/unread", methods=["GET", "POST"])
@signed_in
def mark_unread(conversation_id, seq):
    """Mark a message and everything after it unread: a confirmation page without JavaScript, 204 for htmx."""
    if request.method == "GET":
        page = history.page_messages(current_user.id, conversation_id, before=seq + 1, limit=1)
        if not page["messages"] or page["messages"][-1]["seq"] != seq:
            raise Invalid(f"There is no message {seq} in this conversation.", field="seq")
        return render_template("messages/unread.html", message=page["messages"][-1], conversation_id=conversation_id)
    settings.mark_unread(current_user.id, conversation_id, seq)
    if is_htmx():
        return "", 204
    return redirect(url_for("web.home"), code=303)
