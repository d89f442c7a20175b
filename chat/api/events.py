"""``GET /api/v1/events``: the signed-in user's event stream (shared/API.md, "The event stream")."""
from flask import request

from ..delivery.stream import json_render, sse_response
from . import bp
from .helpers import me, signed_in


@bp.get("/events")
@signed_in
def events():
    """Server-Sent Events, resuming after the ``Last-Event-ID`` header or ``?last_event_id=`` (the last
    one given: a client that appends its newest cursor to a URL that had one means the newest)."""
    from_query = request.args.getlist("last_event_id")
    last_event_id = request.headers.get("Last-Event-ID") or (from_query[-1] if from_query else None)
    return sse_response(me(), last_event_id, json_render)

