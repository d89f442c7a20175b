"""The JSON API v1 (shared/API.md): thin routes over the action layer."""
from flask import Blueprint, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import ActionError

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
               422: "invalid", 429: "rate_limited"}


def error_response(status, code, message, field=None, headers=None):
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _is_api():
    return request.path.startswith("/api/") or request.path == "/healthz"


def init_app(app):
    from . import attachments, auth, conversations, events, health, live, messages, openapi, users  # noqa: F401  (routes)
    app.register_blueprint(bp)
    app.register_blueprint(health.bp)

    @app.errorhandler(ActionError)
    def action_error(error):
        if _is_api():
            return error_response(error.status, error.code, error.message, error.field)
        handler = app.extensions.get("chat.html_error_handler")
        if handler:
            return handler(error)
        return error.message, error.status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _is_api():
            return error_response(400, "csrf_failed", "The CSRF token is missing or invalid: send it in "
                                  "the X-CSRFToken header, or use a bearer token.")
        handler = app.extensions.get("chat.html_error_handler")
        if handler:
            return handler(error)
        return error.description, 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if not _is_api():
            return error
        headers = {}
        if error.code == 429:
            retry = getattr(error, "retry_after", None) or 60
            headers["Retry-After"] = str(int(retry))
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(error.code or 500, _HTTP_CODES.get(error.code, "error"),
                              error.description or error.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        if _is_api():
            return error_response(500, "internal_error", "Something went wrong on our side; try again.")
        return "Something went wrong on our side; try again.", 500
