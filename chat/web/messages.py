"""Send, edit and delete messages: htmx and the composer script get the message partial, forms a redirect."""
from flask import render_template, request, url_for
from flask_login import current_user

from ..actions import attachments, history, messages, reactions, validate
from ..errors import ActionError, Conflict, Forbidden, NotFound
from ..security import per_user, without_file
from . import bp
from .helpers import is_htmx, redirect_or_fragment, signed_in
from .live import message_fragment
from .people_lookup import people_cache


def _message_page(message, status=200):
    """The message partial, made as the stream and history make it (the signed-in sender needs no query)."""
    people_cache.remember(current_user.data)
    return message_fragment(message), status


def _location(message):
    return url_for("web.conversation", conversation_id=message["conversation_id"]) + f"#message-{message['id']}"


@bp.post("/c/<conversation_id>/messages")
@signed_in
@per_user("RATE_LIMIT_SENDS")
@per_user("RATE_LIMIT_UPLOADS", exempt_when=without_file)
def send(conversation_id):
    """Send the composer's text and optional files (uploaded first, then attached); idempotent by client_id.
    Without JavaScript the files come in the form (``file``, several times); the composer script uploads them
    beforehand and sends their ``attachment_ids``."""
    form = request.form
    uploaded = attachments.upload_many(current_user.id, request.files.getlist("file"))
    attachment_ids = [a["id"] for a in uploaded] + form.getlist("attachment_ids")
    try:
        message, created = messages.send_message(current_user.id, conversation_id, form.get("body"),
                                                 client_id=form.get("client_id") or None,
                                                 attachment_ids=attachment_ids,
                                                 reply_to_id=form.get("reply_to_id") or None)
    except BaseException:
        attachments.discard_uploads(uploaded)  # refused: nothing of this request stays stored
        raise
    if not created:
        attachments.discard_uploads(uploaded)  # a repeat of a message already stored, with its own files
    if not is_htmx():
        return redirect_or_fragment(_location(message))
    return _message_page(message, 201 if created else 200)


@bp.route("/c/<conversation_id>/m/<int:seq>/edit", methods=["GET", "POST"])
@signed_in
@per_user("RATE_LIMIT_EDITS", methods=["POST"])
def edit(conversation_id, seq):
    message = _own_message(conversation_id, seq)
    if request.method == "POST":
        try:
            message = messages.edit_message(current_user.id, message["id"], request.form.get("body"))
        except ActionError as error:
            if error.field != "body":
                raise
            return _edit_form(message, request.form.get("body"), error.message, error.status)
        return _message_page(message) if is_htmx() else redirect_or_fragment(_location(message))
    return _edit_form(message)


def _edit_form(message, body=None, error=None, status=200):
    template = "messages/_edit.html" if is_htmx() else "messages/edit.html"
    return render_template(template, message=message, body=message["body"] if body is None else body,
                           error=error), status


@bp.route("/c/<conversation_id>/m/<int:seq>/delete", methods=["GET", "POST"])
@signed_in
@per_user("RATE_LIMIT_EDITS", methods=["POST"])
def delete(conversation_id, seq):
    """GET asks to confirm (the no-JavaScript path); POST deletes and answers with the tombstone."""
    if request.method == "GET":
        return render_template("messages/delete.html", message=_own_message(conversation_id, seq))
    message = messages.delete_message(current_user.id, message_at(conversation_id, seq)["id"])
    return _message_page(message) if is_htmx() else redirect_or_fragment(_location(message))


COMMON_EMOJI = ("👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "👀")


@bp.route("/c/<conversation_id>/m/<int:seq>/react", methods=["GET", "POST"])
@signed_in
@per_user("RATE_LIMIT_REACTIONS", methods=["POST"])
def react(conversation_id, seq):
    """GET: a form to pick an emoji (the no-JavaScript path); POST toggles the signed-in person's ``emoji``."""
    message = message_at(conversation_id, seq)
    if request.method == "GET":
        return render_template("messages/react.html", message=message, common=COMMON_EMOJI)
    try:
        reactions.toggle_reaction(current_user.id, message["id"], request.form.get("emoji"))
    except ActionError as error:
        if is_htmx() or error.field != "emoji":
            raise
        return render_template("messages/react.html", message=message, common=COMMON_EMOJI,
                               error=error.message), error.status
    message = message_at(conversation_id, seq)
    return _message_page(message) if is_htmx() else redirect_or_fragment(_location(message))


@bp.get("/c/<conversation_id>/m/<int:seq>/edits")
@signed_in
def edits(conversation_id, seq):
    """Earlier versions of a message, from its "edited" label (members only: 404 for anyone else)."""
    message = message_at(conversation_id, seq)
    versions = messages.edit_history(current_user.id, message["id"])
    template = "messages/_edits.html" if is_htmx() else "messages/edits.html"
    return render_template(template, message=message, versions=versions)


@bp.get("/c/<conversation_id>/m/<int:seq>")
@signed_in
def show(conversation_id, seq):
    """One message partial (an edit that is cancelled puts the message back with it)."""
    return _message_page(message_at(conversation_id, seq))


def message_at(conversation_id, seq):
    """The message with ``seq`` in a conversation of the signed-in person's; else 404."""
    if seq > validate.MAX_INT:
        raise NotFound("No such message.")
    page = history.page_messages(current_user.id, conversation_id, after=max(seq - 1, 0), limit=1)
    if not page["messages"] or page["messages"][0]["seq"] != seq:
        raise NotFound("No such message.")
    return page["messages"][0]


def _own_message(conversation_id, seq):
    message = message_at(conversation_id, seq)
    if message["sender_id"] != current_user.id:
        raise Forbidden("Only the sender can change a message.")
    if message["deleted_at"]:
        raise Conflict("A deleted message cannot be changed.", code="message_deleted")
    return message
