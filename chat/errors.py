"""Errors the action layer raises; HTML and JSON views turn them into responses."""


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
