"""Outgoing webhooks, bots and incoming webhooks (shared/API.md "Integrations (second round)")."""
import hashlib

from flask import Blueprint, current_app, jsonify, request, url_for

from ..actions import bots, incoming_webhooks, webhooks
from ..security import limiter, per_user
from . import bp, openapi
from .helpers import json_body, me, signed_in

hooks_bp = Blueprint("hooks", __name__)


@bp.post("/conversations/<conversation_id>/webhooks")
@signed_in
@per_user("RATE_LIMIT_INTEGRATIONS")
def register_webhook(conversation_id):
    return jsonify(webhooks.register(me(), conversation_id, json_body().get("url"))), 201


@bp.get("/conversations/<conversation_id>/webhooks")
@signed_in
def list_webhooks(conversation_id):
    return jsonify(webhooks=webhooks.list_for(me(), conversation_id))


@bp.delete("/webhooks/<webhook_id>")
@signed_in
def delete_webhook(webhook_id):
    webhooks.delete(me(), webhook_id)
    return "", 204


@bp.post("/bots")
@signed_in
@per_user("RATE_LIMIT_INTEGRATIONS")
def create_bot():
    data = json_body()
    user, token = bots.create_bot(me(), data.get("username"), data.get("display_name"))
    return jsonify(user=user, token=token), 201


@bp.post("/conversations/<conversation_id>/incoming-webhooks")
@signed_in
@per_user("RATE_LIMIT_INTEGRATIONS")
def create_incoming_webhook(conversation_id):
    hook = incoming_webhooks.create(me(), conversation_id, hook_url)
    return jsonify(hook), 201


@bp.delete("/incoming-webhooks/<hook_id>")
@signed_in
def delete_incoming_webhook(hook_id):
    incoming_webhooks.delete(me(), hook_id)
    return "", 204


def hook_url(secret):
    return url_for("hooks.post_to_hook", secret=secret, _external=True)


def _per_hook():
    """Incoming posts are counted per hook (its secret's hash), whoever sends them."""
    return "hook:" + hashlib.sha256(request.view_args.get("secret", "").encode()).hexdigest()


@hooks_bp.post("/hooks/<secret>")
@limiter.limit(lambda: current_app.config["RATE_LIMIT_INCOMING_WEBHOOKS"], key_func=_per_hook)
def post_to_hook(secret):
    return jsonify(incoming_webhooks.post(secret, json_body().get("body"))), 201


_uuid, _str, _time, _ntime = openapi._uuid, openapi._str, openapi._time, openapi._ntime
_WEBHOOK = openapi._obj(id=_uuid, url=_str, created_at=_time, created_by=_uuid, last_delivery_at=_ntime,
                        last_status={"type": ["integer", "null"]}, last_error=openapi._nstr, failing_since=_ntime)
_URL = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "^https?://",
        "description": "http(s); in production it must resolve to public addresses"}
openapi.SCHEMAS["User"]["properties"]["bot"] = {"type": "boolean"}
openapi.PATH_PARAMETERS.update({"webhook_id": _uuid, "hook_id": _uuid,
                                "secret": {"type": "string", "minLength": 1, "maxLength": 200}})
openapi.PATHS.update({
    "/api/v1/conversations/{conversation_id}/webhooks": {
        "post": openapi._op("Register a webhook (group owner/admin, or a member of a direct conversation)",
                            openapi._ok(201, openapi._obj(id=_uuid, url=_str, secret=_str, created_at=_time)),
                            body=openapi._body(["url"], url=_URL)),
        "get": openapi._op("The conversation's webhooks and how their deliveries go",
                           openapi._ok(200, openapi._obj(webhooks={"type": "array", "items": _WEBHOOK})))},
    "/api/v1/webhooks/{webhook_id}": {"delete": openapi._op("Delete a webhook", openapi._ok(204))},
    "/api/v1/bots": {"post": openapi._op(
        "Make a bot: a user that posts with its own token", openapi._ok(201, openapi._obj(
            user=openapi._ref("User"), token=_str)),
        body=openapi._body(["username"], username={"type": "string", "pattern": "^[a-z0-9_]{3,32}$"},
                           display_name={"type": ["string", "null"], "maxLength": 80}))},
    "/api/v1/conversations/{conversation_id}/incoming-webhooks": {"post": openapi._op(
        "Make an incoming webhook: a secret URL that posts into the conversation as you",
        openapi._ok(201, openapi._obj(id=_uuid, url=_str, conversation_id=_uuid, created_at=_time)))},
    "/api/v1/incoming-webhooks/{hook_id}": {"delete": openapi._op("Delete an incoming webhook", openapi._ok(204))},
    "/hooks/{secret}": {"post": openapi._op(
        "Post a message through an incoming webhook (the URL is the credential)",
        openapi._ok(201, openapi._ref("Message")), auth=False,
        body=openapi._body(["body"], body=openapi._body_text))},
})
