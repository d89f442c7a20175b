"""Typing and presence: ``POST …/typing``, ``POST /presence`` and ``GET /presence``."""
from flask import jsonify, request

from ..actions import live
from . import bp
from .helpers import json_body, me, signed_in


@bp.post("/conversations/<conversation_id>/typing")
@signed_in
def typing(conversation_id):
    live.typing(me(), conversation_id)
    return "", 204


@bp.post("/presence")
@signed_in
def set_presence():
    """Body ``{"status": "online"|"away"}``; returns the status others now see."""
    return jsonify(status=live.set_status(me(), json_body().get("status")))


@bp.get("/presence")
@signed_in
def presence():
    """``?user_id=…&user_id=…`` → ``{"presence": {user_id: status}}`` for people you share a conversation with."""
    return jsonify(presence=live.presence_of(me(), request.args.getlist("user_id")[:500]))
