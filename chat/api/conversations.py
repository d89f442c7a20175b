"""Conversations and their members."""
from flask import jsonify, request

from ..actions import conversations, inbox, members, reads, settings
from ..security import per_user
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/conversations")
@signed_in
def list_conversations():
    found = inbox.list_conversations(me(), request.args.get("limit"), request.args.get("before"),
                                     archived=request.args.get("archived") in ("1", "true"))
    return jsonify(conversations=found)


@bp.post("/conversations/direct")
@signed_in
def open_direct():
    conversation, created = conversations.open_direct(me(), json_body().get("user_id"))
    return jsonify(conversation), 201 if created else 200


@bp.post("/conversations")
@signed_in
@per_user("RATE_LIMIT_GROUPS")
def create_group():
    data = json_body()
    return jsonify(conversations.create_group(me(), data.get("name"), data.get("member_ids", []))), 201


@bp.get("/conversations/<conversation_id>")
@signed_in
def get_conversation(conversation_id):
    return jsonify(inbox.get_conversation(me(), conversation_id))


@bp.patch("/conversations/<conversation_id>")
@signed_in
def rename(conversation_id):
    return jsonify(conversations.rename_group(me(), conversation_id, json_body().get("name")))


@bp.post("/conversations/<conversation_id>/members")
@signed_in
@per_user("RATE_LIMIT_MEMBERS")
def add_member(conversation_id):
    data = json_body()
    return jsonify(members.add_member(me(), conversation_id, data.get("user_id"),
                                      data.get("role", "member"))), 201


@bp.delete("/conversations/<conversation_id>/members/<user_id>")
@signed_in
def remove_member(conversation_id, user_id):
    members.remove_member(me(), conversation_id, user_id)
    return "", 204


@bp.post("/conversations/<conversation_id>/read")
@signed_in
def mark_read(conversation_id):
    reads.mark_read(me(), conversation_id, json_body().get("seq"))
    return "", 204


@bp.patch("/conversations/<conversation_id>/settings")
@signed_in
def update_settings(conversation_id):
    data = json_body()
    changes = {key: data[key] for key in ("notify", "archived") if key in data}
    return jsonify(settings.update_settings(me(), conversation_id, **changes))


@bp.post("/conversations/<conversation_id>/unread")
@signed_in
def mark_unread(conversation_id):
    settings.mark_unread(me(), conversation_id, json_body().get("seq"))
    return "", 204
