"""``GET /api/v1/events``: the signed-in user's event stream (shared/API.md, "The event stream")."""
from flask import request
from flask_login import current_user

from ..auth import stream_alive
from ..delivery.admission import admission
from ..delivery.stream import json_render, sse_response
from ..security import per_user
from . import bp
from .helpers import me, signed_in


@bp.get("/events")
@admission
@signed_in
@per_user("RATE_LIMIT_STREAMS")
def events():
    """Server-Sent Events, resuming after the ``Last-Event-ID`` header or ``?last_event_id=`` (the last
    one given: a client that appends its newest cursor to a URL that had one means the newest)."""
    from_query = request.args.getlist("last_event_id")
    last_event_id = request.headers.get("Last-Event-ID") or (from_query[-1] if from_query else None)
    # S2: the stream ends (``session-expired``) once the token or session that opened it is revoked.
    return sse_response(me(), last_event_id, json_render, alive=stream_alive(current_user))

