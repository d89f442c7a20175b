"""JSON as the app writes it: compact, UTF-8, by orjson.

Every response of the JSON API, every event a stream carries and every value read from a ``jsonb`` column
goes through here. The standard library's encoder was 8.6 % of a conversation list's time, and reading each
message's ``metadata`` about a tenth of a history page's CPU; orjson does the same work in a fraction of it.

Output is what ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` gives, but for floats
written in their shortest form (``1e16`` for ``1e+16``) and keys kept in the order they were inserted.
What orjson refuses (a lone surrogate, an integer over 64 bits: nothing the app stores) the standard
library still writes, as before.
"""
import json

import orjson
from flask.json.provider import DefaultJSONProvider

loads = orjson.loads


def dumps(value) -> str:
    """``value`` as compact JSON on one line."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, written by orjson; what orjson does not know (dates, ``Decimal``, Markup) Flask's own
    ``default`` turns into what Flask would write. Pretty printing (debug mode) and parsing request bodies
    stay Flask's: a body is small, and ``json.loads`` reads the ``NaN`` that validation names as an error."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def dumps(self, obj, **kwargs):
        if kwargs.get("indent") is not None or kwargs.get("sort_keys"):
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=kwargs.get("default", self.default), option=self._OPTIONS).decode()
        except orjson.JSONEncodeError:
            return super().dumps(obj, **kwargs)

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=self._OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            body = f"{super().dumps(obj, separators=(',', ':'))}\n"
        return self._app.response_class(body, mimetype=self.mimetype)
