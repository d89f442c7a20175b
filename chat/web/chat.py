"""One conversation: the full page, the sliding panel, history pages, and marking it read."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from ..actions import history, inbox, reads
from . import bp
from .helpers import AROUND, is_htmx, signed_in
from .people_lookup import people_for

PAGE = 50  # messages in a page of history


def chat_context(conversation_id, before=None, at=None, latest=False):
    """What ``conversations/_chat.html`` needs. Reading changes nothing: the page's script posts the
    mark-read once the conversation is shown (without JavaScript, a "Mark as read" button does).

    With unread messages, "New messages" goes above the first of them; when that one is not on the newest
    page, the page around it opens instead (unless ``latest``). ``at`` opens the page of one message.
    """
    me = current_user.id
    conversation = inbox.get_conversation(me, conversation_id)
    divider = conversation["first_unread_seq"] if before is None else None
    target = int(at) if before is None and at is not None and str(at).isdigit() else divider
    if target is not None and not latest and conversation["last_seq"] - target >= PAGE - 5:
        before = target + AROUND + 1
    page = history.page_messages(me, conversation_id, before=before)
    people_for(conversation, page["messages"])  # the message partials find their senders without a query
    return {
        "conversation": conversation,
        "messages": page["messages"],
        "has_more": page["has_more"],
        "before": before,
        "divider_seq": divider,  # "New messages" goes above it
    }


@bp.get("/c/<conversation_id>")
@signed_in
def conversation(conversation_id):
    """The conversation page; ``?before=<seq>`` shows an older page (the no-JavaScript history link)."""
    context = chat_context(conversation_id, before=request.args.get("before") or None,
                           at=request.args.get("at"), latest=bool(request.args.get("latest")))
    if is_htmx() and request.headers.get("HX-Target") == "side-panel":
        return render_template("conversations/_panel.html", **context)
    return render_template("conversations/show.html", **context)


@bp.get("/c/<conversation_id>/messages")
@signed_in
def older_messages(conversation_id):
    """A page of history before ``?before=<seq>``: a fragment for htmx, else the page it belongs to."""
    before = request.args.get("before") or None
    if not is_htmx():
        context = chat_context(conversation_id, before=before)
        return render_template("conversations/show.html", **context)
    after = request.args.get("after") or None
    page = history.page_messages(current_user.id, conversation_id, before=before, after=after,
                                 limit=request.args.get("limit") or 50)
    conversation = inbox.get_conversation(current_user.id, conversation_id)
    people_for(conversation, page["messages"])
    return render_template("messages/_page.html", conversation=conversation, messages=page["messages"],
                           has_more=page["has_more"], before=before, after=after)


@bp.post("/c/<conversation_id>/read")
@signed_in
def mark_read(conversation_id):
    """The page's script posts this once a conversation is shown (204); the no-JavaScript "Mark as read"
    button gets the conversation again."""
    reads.mark_read(current_user.id, conversation_id, request.form.get("seq"))
    if not is_htmx():
        return redirect(url_for("web.conversation", conversation_id=conversation_id), code=303)
    return "", 204


@bp.get("/c/<conversation_id>/row")
@signed_in
def conversation_row(conversation_id):
    """The conversation's row as an out-of-band swap into the list (the stream sends the same fragment)."""
    conversation = inbox.get_conversation(current_user.id, conversation_id)
    return render_template("conversations/_row_oob.html", conversation=conversation)


@bp.get("/conversations")
@signed_in
def conversation_rows():
    """The list's rows (the script refreshes the list with it after a reconnect)."""
    return render_template("conversations/_rows.html")
