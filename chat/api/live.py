"""Typing and presence: ``POST …/typing``, ``POST /presence`` and ``GET /presence``."""
from flask import jsonify, request

from ..actions import live
from ..security import per_user
from . import bp, openapi
from .helpers import json_body, me, signed_in


@bp.post("/conversations/<conversation_id>/typing")
@signed_in
@per_user("RATE_LIMIT_TYPING")
def typing(conversation_id):
    live.typing(me(), conversation_id)
    return "", 204


@bp.post("/presence")
@signed_in
@per_user("RATE_LIMIT_PRESENCE")
def set_presence():
    """Body ``{"status": "online"|"away"}``; returns the status others now see."""
    return jsonify(status=live.set_status(me(), json_body().get("status")))


@bp.get("/presence")
@signed_in
def presence():
    """``?user_id=…&user_id=…`` → ``{"presence": {user_id: status}}`` for people you share a conversation with."""
    return jsonify(presence=live.presence_of(me(), request.args.getlist("user_id")[:500]))


_status = {"enum": ["online", "away", "offline"]}
openapi.PATHS["/api/v1/presence"] = {
    "post": openapi._op("Say whether you are at the screen", openapi._ok(200, openapi._obj(status=_status)),
                        body=openapi._body(["status"], status={"enum": ["online", "away"]})),
    "get": openapi._op("Presence of people you share a conversation with",
                       openapi._ok(200, openapi._obj(presence={"type": "object", "additionalProperties": _status})),
                       params=[("user_id", openapi._str)]),
}
