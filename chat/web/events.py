"""``GET /events``: the page's one live stream (session auth), rendered for htmx by ``live.py``.

Pages open it at the position they were rendered at: ``live_stream_url()`` (a template helper) puts the
current cursor into the stream's URL, so an event committed between rendering and subscribing is
replayed rather than lost (while the broker is down, a "position unknown" marker; see
``delivery.stream``). The stream ends (``session-expired``) once the session that opened it is revoked.
"""
from flask import Response, request, url_for
from flask_login import current_user

from ..auth import stream_alive
from ..delivery.admission import admission
from ..delivery.stream import current_cursor, sse_response
from ..security import per_user
from . import bp
from .live import renderer_for

SESSION_EXPIRED = "retry: 600000\nevent: session-expired\ndata: {}\n\n"


@bp.get("/events")
@admission
@per_user("RATE_LIMIT_STREAMS")
def events():
    """The signed-in person's events as HTML fragments and small JSON; resumes after ``Last-Event-ID``
    (the browser's own reconnects) or ``?last_event_id=`` (htmx-ext-sse's, see static/js/live.js).

    The URL may carry ``last_event_id`` twice: the page's own (where it was rendered) and the one
    static/js/live.js appends on a rebuilt connection. The last one is the newest.

    A lost session gets an event asking the page to reload, not a redirect: EventSource would follow a
    redirect to the sign-in page and retry it forever.
    """
    if not current_user.is_authenticated:
        return Response(SESSION_EXPIRED, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})
    from_query = request.args.getlist("last_event_id")
    last_event_id = request.headers.get("Last-Event-ID") or (from_query[-1] if from_query else None) or None
    return sse_response(current_user.id, last_event_id, renderer_for(current_user.id),
                        alive=stream_alive(current_user))


@bp.app_context_processor
def _stream_helpers():
    return {"live_stream_url": live_stream_url}


def live_stream_url():
    """The signed-in person's stream URL, starting where the page being rendered stands."""
    return url_for("web.events", last_event_id=current_cursor(current_user.id))
