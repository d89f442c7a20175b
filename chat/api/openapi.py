"""``GET /api/v1/openapi.json``: the machine-readable contract. ``tests/test_openapi.py`` checks that it
names exactly the live routes and validates as OpenAPI 3.1; ``tests/test_schemathesis.py`` fuzzes the API
with it. Request schemas state the limits the server enforces; every templated path declares its path
parameters (``document`` adds them to each operation from ``PATH_PARAMETERS``, also for paths other modules
add)."""
import copy
import re

from flask import jsonify

from ..actions.validate import MAX_BODY, MAX_INT
from . import bp

_ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
_str, _int = {"type": "string"}, {"type": "integer"}
_nstr = {"type": ["string", "null"]}
_time = {"type": "string", "format": "date-time"}
_ntime = {"type": ["string", "null"], "format": "date-time"}
_uuid = {"type": "string", "format": "uuid"}
_nonblank = "\\S"  # at least one character that is not whitespace (values are trimmed first)
_body_text = {"type": "string", "minLength": 1, "maxLength": MAX_BODY, "pattern": _nonblank}
_group_name = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": _nonblank}
_seq = {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_INT}


def _limit(maximum):
    return {"type": "integer", "minimum": 1, "maximum": maximum}


PATH_PARAMETERS = {
    "conversation_id": _uuid, "message_id": _uuid, "user_id": _uuid, "attachment_id": _uuid,
    "key": {"type": "string", "minLength": 1, "maxLength": 100, "description": "A user's id or username"},
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": _str, "message": _str, "field": _str}}}},
    "User": {"type": "object", "required": ["id", "username", "display_name", "bio", "avatar_url", "created_at"],
             "properties": {"id": _str, "username": _str, "display_name": _str, "bio": _str,
                            "avatar_url": _nstr, "created_at": _time, "email": _str}},
    "Attachment": {"type": "object", "properties": {
        "id": _str, "filename": _str, "content_type": _str, "size": _int, "url": _str,
        "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
        "duration_ms": {"type": ["integer", "null"]}, "thumbnail_url": {"type": ["string", "null"]}}},
    "Message": {"type": "object", "required": ["id", "conversation_id", "seq", "sender_id", "kind", "body",
                                               "metadata", "client_id", "attachments", "created_at",
                                               "edited_at", "deleted_at"],
                "properties": {"id": _str, "conversation_id": _str, "seq": _int, "sender_id": _nstr,
                               "kind": {"enum": ["text", "image", "file", "audio", "system"]}, "body": _str,
                               "metadata": {"type": "object"}, "client_id": _nstr,
                               "attachments": {"type": "array", "items": _ref("Attachment")},
                               "created_at": _time, "edited_at": _ntime, "deleted_at": _ntime}},
    "Conversation": {"type": "object", "properties": {
        "id": _str, "kind": {"enum": ["direct", "group"]}, "name": _nstr,
        "members": {"type": "array", "items": _ref("User")},
        "my_role": {"enum": ["owner", "admin", "member"]}, "last_seq": _int,
        "last_message": {"oneOf": [_ref("Message"), {"type": "null"}]}, "unread_count": _int,
        "last_read_seq": _int, "updated_at": _time}},
}


def _body(required, **props):
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": list(required), "properties": props}}}}


def _ok(status, schema=None, description="OK"):
    response = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return {str(status): response}


def _op(summary, responses, body=None, params=(), auth=True):
    op = {"summary": summary, "responses": {**responses, "default": {
        "description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}}}
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = [{"name": n, "in": "query", "schema": s} for n, s in params]
    if not auth:
        op["security"] = []
    return op


def _obj(**props):
    return {"type": "object", "properties": props}


PATHS = {
    "/healthz": {"get": _op("Database and broker health", _ok(200, _obj(status=_str, db=_str, broker=_str)),
                            auth=False)},
    "/api/v1/auth/signup": {"post": _op(
        "Create an account", _ok(201, _obj(user=_ref("User"), token=_str)), auth=False,
        body=_body(["email", "username", "password"],
                   email={"type": "string", "format": "email", "maxLength": 254},
                   username={"type": "string", "pattern": "^[a-z0-9_]{3,32}$"},
                   password={"type": "string", "minLength": 8, "maxLength": 1024},
                   display_name={"type": ["string", "null"], "maxLength": 80}))},
    "/api/v1/auth/token": {"post": _op(
        "Get a bearer token", _ok(200, _obj(user=_ref("User"), token=_str)), auth=False,
        body=_body(["login", "password"], login={"type": "string", "maxLength": 254},
                   password={"type": "string", "maxLength": 1024}))},
    "/api/v1/auth/logout": {"post": _op("Revoke the token or end the session", _ok(204))},
    "/api/v1/auth/logout-all": {"post": _op("Revoke every session and token of yours, this one included",
                                            _ok(204))},
    "/api/v1/me/password": {"post": _op(
        "Change your password; every other session and token is revoked, this one stays", _ok(204),
        body=_body(["current_password", "new_password"], current_password=_str,
                   new_password={"type": "string", "minLength": 8, "maxLength": 1024}))},
    "/api/v1/me": {"get": _op("The signed-in user (with email)", _ok(200, _ref("User"))),
                   "patch": _op("Edit your profile", _ok(200, _ref("User")),
                                body=_body([], display_name={"type": "string", "minLength": 1, "maxLength": 80,
                                                             "pattern": _nonblank},
                                           bio={"type": "string", "maxLength": 500},
                                           avatar_url={"type": ["string", "null"], "maxLength": 2000,
                                                       "pattern": "^https://",
                                                       "description": "an https:// URL; null or \"\" removes it"}))},
    "/api/v1/me/avatar": {
        "post": _op("Upload your avatar (a PNG, JPEG, GIF or WebP picture); avatar_url then serves its centre "
                    "square", _ok(200, _ref("User")), body={
                        "required": True, "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}}}}}}),
        "delete": _op("Remove your avatar (back to initials)", _ok(200, _ref("User")))},
    "/api/v1/users/{user_id}/avatar": {"get": _op(
        "A person's uploaded avatar (their avatar_url; anyone signed in)", {"200": {"description": "image/webp"}},
        params=[("v", {"type": "string", "maxLength": 100})])},
    "/api/v1/users": {"get": _op("Search the directory", _ok(200, _obj(users={"type": "array",
                                                                          "items": _ref("User")})),
                                 params=[("q", {"type": "string", "maxLength": 100}), ("limit", _limit(100))])},
    "/api/v1/users/{key}": {"get": _op("A user by id or username", _ok(200, _ref("User")))},
    "/api/v1/conversations": {
        "get": _op("Your conversations, newest activity first",
                   _ok(200, _obj(conversations={"type": "array", "items": _ref("Conversation")})),
                   params=[("limit", _limit(200)), ("before", _time)]),
        "post": _op("Create a group", _ok(201, _ref("Conversation")),
                    body=_body(["name"], name=_group_name,
                               member_ids={"type": "array", "items": _uuid, "maxItems": 5000}))},
    "/api/v1/conversations/direct": {"post": _op(
        "Get or create a direct conversation", {**_ok(200, _ref("Conversation")), **_ok(201, _ref("Conversation"))},
        body=_body(["user_id"], user_id=_uuid))},
    "/api/v1/conversations/{conversation_id}": {
        "get": _op("One conversation", _ok(200, _ref("Conversation"))),
        "patch": _op("Rename a group", _ok(200, _ref("Conversation")), body=_body(["name"], name=_group_name))},
    "/api/v1/conversations/{conversation_id}/members": {"post": _op(
        "Add a member", _ok(201, _ref("Conversation")),
        body=_body(["user_id"], user_id=_uuid, role={"enum": ["member", "admin"]}))},
    "/api/v1/conversations/{conversation_id}/members/{user_id}": {"delete": _op("Remove a member or leave",
                                                                                _ok(204))},
    "/api/v1/conversations/{conversation_id}/messages": {
        "get": _op("A page of history, ascending by seq",
                   _ok(200, _obj(messages={"type": "array", "items": _ref("Message")}, has_more={"type": "boolean"})),
                   params=[("limit", _limit(100)), ("before", {**_seq, "minimum": 1}), ("after", _seq)]),
        "post": _op("Send a message", {**_ok(201, _ref("Message")), **_ok(200, _ref("Message"))},
                    body=_body(["body"], body=_body_text,
                               client_id={"type": ["string", "null"], "minLength": 1, "maxLength": 100,
                                          "pattern": _nonblank},
                               kind={"enum": ["text", "image", "file", "audio"]},
                               metadata={"type": "object", "description": "At most 8192 bytes as JSON"},
                               attachment_ids={"type": "array", "items": _uuid, "maxItems": 10}))},
    "/api/v1/conversations/{conversation_id}/read": {"post": _op("Mark read up to seq", _ok(204),
                                                                 body=_body(["seq"], seq=_seq))},
    "/api/v1/conversations/{conversation_id}/typing": {
        "post": _op("Say you are typing (shown in groups of up to TYPING_MAX_MEMBERS members)", _ok(204))},
    "/api/v1/messages/{message_id}": {
        "patch": _op("Edit your message", _ok(200, _ref("Message")), body=_body(["body"], body=_body_text)),
        "delete": _op("Delete a message", _ok(204))},
    "/api/v1/messages/{message_id}/edits": {"get": _op(
        "Earlier versions of a message", _ok(200, _obj(edits={"type": "array", "items": _obj(
            body=_str, edited_at=_time)})))},
    "/api/v1/attachments": {"post": _op("Upload a file", _ok(201, _ref("Attachment")), body={
        "required": True, "content": {"multipart/form-data": {"schema": _obj(file={"type": "string",
                                                                                   "format": "binary"})}}})},
    "/api/v1/attachments/{attachment_id}/content": {"get": _op("Download a file (members only)", {
        "200": {"description": "The file's bytes"},
        "302": {"description": "A short-lived signed URL of the store (S3_SIGNED_URL_SECONDS > 0)"}})},
    "/api/v1/attachments/{attachment_id}/thumbnail": {"get": _op("A picture's WebP thumbnail (members only)", {
        "200": {"description": "image/webp"}})},
    "/api/v1/events": {"get": _op("Your event stream (Server-Sent Events)", {
        "200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": _str}}}},
        params=[("last_event_id", _str)])},
    "/api/v1/openapi.json": {"get": _op("This document", _ok(200, {"type": "object"}), auth=False)},
}

# Second round additions (shared/API.md "Additions for the second round").
_REACTION = _obj(emoji=_str, count=_int, user_ids={"type": "array", "items": _str, "maxItems": 20},
                 me={"type": "boolean"})
SCHEMAS["Message"]["properties"].update({
    "revision": _int, "body_html": _str, "mentions": {"type": "array", "items": _str},
    "reactions": {"type": "array", "items": _REACTION},
    "reply_to": {"oneOf": [_obj(id=_str, seq=_int, sender_id=_nstr, body=_str, deleted={"type": "boolean"}),
                           {"type": "null"}]}})
_history = PATHS["/api/v1/conversations/{conversation_id}/messages"]
_history["get"]["parameters"].append({"name": "around", "in": "query", "schema": {**_seq, "minimum": 1}})
_history["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["has_more_after"] = {
    "type": "boolean"}
_history["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["reply_to_id"] = {
    "type": ["string", "null"], "format": "uuid"}
SCHEMAS["Conversation"]["properties"].update({
    "notify": {"enum": ["all", "mentions", "none"]}, "archived": {"type": "boolean"}, "mention_count": _int,
    "first_unread_seq": {"type": ["integer", "null"]}})
PATHS["/api/v1/conversations"]["get"]["parameters"].append(
    {"name": "archived", "in": "query", "schema": {"enum": ["0", "1"]},
     "description": "1: only archived conversations (left out by default)"})
PATHS["/api/v1/conversations/{conversation_id}/settings"] = {"patch": _op(
    "Your notification level and archive for one conversation", _ok(200, _ref("Conversation")),
    body=_body([], notify={"enum": ["all", "mentions", "none", None],
                           "description": "null: the default (mentions in groups over 20 members, else all)"},
               archived={"type": "boolean"}))}
PATHS["/api/v1/conversations/{conversation_id}/unread"] = {"post": _op(
    "Mark seq and everything after it unread (the read mark moves back, never forward)", _ok(204),
    body=_body(["seq"], seq={**_seq, "minimum": 1}))}
PATHS["/api/v1/messages/{message_id}/reactions/{emoji}"] = {
    "put": _op("React with one emoji (idempotent)", _ok(204)),
    "delete": _op("Take back your reaction (idempotent)", _ok(204))}


def document():
    """The OpenAPI 3.1 document for the API."""
    paths = copy.deepcopy(PATHS)
    for path, item in paths.items():
        names = re.findall(r"{([^}]+)}", path)
        declared = [{"name": name, "in": "path", "required": True,
                     "schema": PATH_PARAMETERS.get(name, {"type": "string"})} for name in names]
        for op in item.values():  # on each operation: a path item's keys stay its methods
            if declared:
                op["parameters"] = declared + op.get("parameters", [])
    return {
        "openapi": "3.1.0",
        "info": {"title": "Chat API", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A token from /api/v1/auth/token or /auth/signup; with SUPABASE_URL set, "
                                      "also a Supabase Auth access token (JWT)."},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"session": []}],
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
