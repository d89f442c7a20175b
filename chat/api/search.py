"""``GET /api/v1/search``: messages of your conversations by their words (chat.actions.search)."""
from flask import jsonify, request

from ..actions import search as search_action
from ..security import per_user
from . import bp, openapi
from .helpers import me, signed_in

_OPERATION = openapi._op(
    "Search your conversations' messages by their words, newest first",
    openapi._ok(200, openapi._obj(
        results={"type": "array", "items": openapi._obj(message=openapi._ref("Message"),
                                                        conversation_id=openapi._str, highlight=openapi._str)},
        next_cursor=openapi._nstr)),
    params=[("q", {"type": "string", "minLength": 1, "maxLength": search_action.MAX_QUERY,
                   "pattern": openapi._nonblank}),
            ("conversation_id", openapi._uuid),
            ("from", {"type": "string", "minLength": 1, "maxLength": 100,
                      "description": "A user's id or username"}),
            ("has", {"enum": ["attachment"]}),
            ("before", {"type": "string", "description": "ISO date or date-time (exclusive)"}),
            ("after", {"type": "string", "description": "ISO date or date-time (inclusive)"}),
            ("limit", openapi._limit(search_action.MAX_LIMIT)),
            ("cursor", openapi._str)])
_OPERATION["parameters"][0]["required"] = True
openapi.PATHS["/api/v1/search"] = {"get": _OPERATION}


@bp.get("/search")
@signed_in
@per_user("RATE_LIMIT_SEARCH")
def search():
    args = request.args
    return jsonify(search_action.search(
        me(), args.get("q"), conversation_id=args.get("conversation_id"), sender=args.get("from"),
        has=args.get("has"), before=args.get("before"), after=args.get("after"), limit=args.get("limit"),
        cursor=args.get("cursor")))
