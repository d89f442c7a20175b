"""Messages: history, send, edit, delete."""
from flask import jsonify, request

from ..actions import history, messages, reactions, validate
from ..errors import Invalid
from ..security import per_user
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/conversations/<conversation_id>/messages")
@signed_in
def list_messages(conversation_id):
    args = request.args
    if args.get("around") not in (None, ""):
        page = around(me(), conversation_id, args)
    else:
        page = history.page_messages(me(), conversation_id, args.get("before"), args.get("after"), args.get("limit"))
    return jsonify({**page, "messages": reactions.mark_mine(me(), page["messages"])})


def around(viewer_id, conversation_id, args):
    """The page with message ``around`` in the middle: ``{messages, has_more, has_more_after}``."""
    if args.get("before") not in (None, "") or args.get("after") not in (None, ""):
        raise Invalid("Give around without before or after.", field="around")
    seq = validate.integer(args.get("around"), "around", minimum=1, maximum=validate.MAX_INT - 1)
    limit = validate.integer(args.get("limit"), "limit", minimum=1, maximum=100, default=50)
    older = history.page_messages(viewer_id, conversation_id, before=seq + 1, limit=limit - limit // 2)
    newer = history.page_messages(viewer_id, conversation_id, after=seq, limit=max(limit // 2, 1))
    later = newer["messages"][:limit // 2]
    return {"messages": older["messages"] + later, "has_more": older["has_more"],
            "has_more_after": newer["has_more"] or len(newer["messages"]) > len(later)}


@bp.post("/conversations/<conversation_id>/messages")
@signed_in
@per_user("RATE_LIMIT_SENDS")
def send(conversation_id):
    data = json_body()
    message, created = messages.send_message(
        me(), conversation_id, data.get("body"), client_id=data.get("client_id"), kind=data.get("kind"),
        metadata=data.get("metadata"), attachment_ids=data.get("attachment_ids"), reply_to_id=data.get("reply_to_id"))
    return jsonify(message), 201 if created else 200


@bp.patch("/messages/<message_id>")
@signed_in
@per_user("RATE_LIMIT_EDITS")
def edit(message_id):
    return jsonify(reactions.mark_mine(me(), [messages.edit_message(me(), message_id, json_body().get("body"))])[0])


@bp.delete("/messages/<message_id>")
@signed_in
@per_user("RATE_LIMIT_EDITS")
def delete(message_id):
    messages.delete_message(me(), message_id)
    return "", 204


@bp.get("/messages/<message_id>/edits")
@signed_in
def edits(message_id):
    return jsonify(edits=messages.edit_history(me(), message_id))


@bp.put("/messages/<message_id>/reactions/<path:emoji>")
@signed_in
@per_user("RATE_LIMIT_REACTIONS")
def add_reaction(message_id, emoji):
    reactions.add_reaction(me(), message_id, emoji)
    return "", 204


@bp.delete("/messages/<message_id>/reactions/<path:emoji>")
@signed_in
@per_user("RATE_LIMIT_REACTIONS")
def remove_reaction(message_id, emoji):
    reactions.remove_reaction(me(), message_id, emoji)
    return "", 204
