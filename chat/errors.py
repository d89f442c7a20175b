"""Errors: what the action layer raises, and the one place that turns every error into a response.

``init_app(app)`` registers both families. Under ``/api/`` (and ``/healthz``) every error is the JSON
``{"error": {code, message, field?}}`` of shared/API.md; everywhere else it is an HTML page in the app's
layout (``templates/errors/``), or for htmx requests the small fragment htmx swaps in
(``chat.web.errors``). A refusal that needs a sign-in sends signed-out people to the sign-in page.
"""
from flask import jsonify, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException


class ActionError(Exception):
    """A refusal a person can act on. ``status`` is the HTTP status, ``code`` a snake_case name."""

    status = 400
    code = "bad_request"

    def __init__(self, message, field=None, code=None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def to_dict(self):
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return {"error": body}


class BadRequest(ActionError):
    status, code = 400, "bad_request"


class Unauthorized(ActionError):
    status, code = 401, "unauthorized"


class Forbidden(ActionError):
    status, code = 403, "forbidden"


class NotFound(ActionError):
    status, code = 404, "not_found"


class Conflict(ActionError):
    status, code = 409, "conflict"


class TooLarge(ActionError):
    status, code = 413, "too_large"


class Invalid(ActionError):
    """A field failed validation; ``field`` names it."""

    status, code = 422, "invalid"


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
               422: "invalid", 429: "rate_limited"}

# HTTP errors that get an HTML page of ours; others (a redirect, a rate limit) keep Werkzeug's response.
HTML_PAGES = {403: "You are not allowed to do that.", 404: "There is nothing at this address.",
              405: "This page does not take that kind of request.",
              500: "Something went wrong on our side; try again."}
BUSY_MESSAGE = "The server is busy right now; try again in a few seconds."
BUSY_RETRY_AFTER = 5
CSRF_MESSAGE = "This form has expired. Reload the page and try again."


def error_response(status, code, message, field=None, headers=None):
    """The JSON error body of shared/API.md."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _is_api():
    return request.path.startswith(("/api/", "/hooks/")) or request.path == "/healthz"


def busy_response(retry_after):
    """503 with ``Retry-After``: the server cannot take this request now (an overload, not a fault of it)."""
    headers = {"Retry-After": str(retry_after)}
    if _is_api():
        return error_response(503, "busy", BUSY_MESSAGE, headers=headers)
    # Plain text: the page's layout would ask the database for the signed-in person again.
    return BUSY_MESSAGE, 503, dict(headers, **{"Content-Type": "text/plain; charset=utf-8"})


def init_app(app):
    """Register the JSON and the HTML error responses for ``app``."""
    from .web.errors import html_error  # the web package renders; this module only decides

    @app.errorhandler(ActionError)
    def action_error(error):
        if _is_api():
            return error_response(error.status, error.code, error.message, error.field)
        return html_error(error.status, error.message, needs_sign_in=isinstance(error, Unauthorized))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _is_api():
            return error_response(400, "csrf_failed", "The CSRF token is missing or invalid: send it in "
                                  "the X-CSRFToken header, or use a bearer token.")
        return html_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error):
        headers = {}
        if error.code == 429:
            retry = getattr(error, "retry_after", None) or 60
            headers["Retry-After"] = str(int(retry))
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if _is_api():
            return error_response(error.code or 500, _HTTP_CODES.get(error.code, "error"),
                                  error.description or error.name, headers=headers)
        if error.code not in HTML_PAGES:
            return error
        return html_error(error.code, HTML_PAGES[error.code], headers=headers)

    @app.errorhandler(sa_exc.TimeoutError)
    def busy(error):
        # Every database connection of this worker stayed busy for the pool's whole timeout: an overload,
        # not a fault of the request. A 503 with Retry-After lets clients (and load balancers) back off.
        app.logger.warning("database pool exhausted: %s", error)
        return busy_response(BUSY_RETRY_AFTER)

    @app.errorhandler(sa_exc.DBAPIError)
    def database_error(error):
        if not error.connection_invalidated:
            return unexpected(error)
        # The database closed a connection that had been in use moments before (a restart, a failover):
        # the pool has started over, so trying again at once meets a fresh connection.
        app.logger.warning("database connection lost: %s", error.orig)
        return busy_response(1)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        if _is_api():
            return error_response(500, "internal_error", "Something went wrong on our side; try again.")
        return html_error(500, HTML_PAGES[500])
