"""``GET /api/v1/events``: the signed-in user's event stream (shared/API.md, "The event stream")."""
from flask import current_app, jsonify, request

from ..delivery.stats import process_stats
from ..delivery.stream import json_render, sse_response
from ..errors import NotFound
from . import bp
from .helpers import me, signed_in


@bp.get("/events")
@signed_in
def events():
    """Server-Sent Events, resuming after the ``Last-Event-ID`` header or ``?last_event_id=``."""
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    return sse_response(me(), last_event_id, json_render)


@bp.get("/events/stats")
def stats():
    """This process's stream statistics, for tests and benchmarks; 404 unless ``DELIVERY_STATS`` is set."""
    if not current_app.config.get("DELIVERY_STATS"):
        raise NotFound("No such page.")
    return jsonify(process_stats(current_app.extensions["chat.broker"]))
