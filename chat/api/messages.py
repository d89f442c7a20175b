"""Messages: history, send, edit, delete."""
from flask import jsonify, request

from ..actions import history, messages, reactions
from ..security import per_user
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/conversations/<conversation_id>/messages")
@signed_in
def list_messages(conversation_id):
    args = request.args
    page = history.page_messages(me(), conversation_id, args.get("before"), args.get("after"), args.get("limit"))
    return jsonify({**page, "messages": reactions.mark_mine(me(), page["messages"])})


@bp.post("/conversations/<conversation_id>/messages")
@signed_in
@per_user("RATE_LIMIT_SENDS")
def send(conversation_id):
    data = json_body()
    message, created = messages.send_message(
        me(), conversation_id, data.get("body"), client_id=data.get("client_id"), kind=data.get("kind"),
        metadata=data.get("metadata"), attachment_ids=data.get("attachment_ids"))
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
