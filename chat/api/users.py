"""The signed-in user (profile, avatar) and the directory."""
from flask import jsonify, request, send_file
from flask_login import current_user

from ..actions import accounts, profiles, users
from ..security import per_user, without_query
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/me")
@signed_in
def get_me():
    # Authentication has just read the person, email included, in this request (any of its three ways).
    return jsonify(current_user.data)


@bp.patch("/me")
@signed_in
def update_me():
    data = json_body()
    return jsonify(accounts.update_profile(me(), data.get("display_name"), data.get("bio"),
                                           data.get("avatar_url", accounts.UNCHANGED)))


@bp.post("/me/avatar")
@signed_in
@per_user("RATE_LIMIT_UPLOADS")
def set_avatar():
    return jsonify(profiles.set_avatar(me(), request.files.get("file")))


@bp.delete("/me/avatar")
@signed_in
def remove_avatar():
    return jsonify(profiles.remove_avatar(me()))


@bp.get("/users/<user_id>/avatar")
@signed_in
def avatar(user_id):
    """A person's uploaded avatar (their ``avatar_url``), for anyone signed in. The URL names the picture
    (``?v=``), so that one is cached for good; any other asks again each time."""
    version, stream = profiles.open_avatar(me(), user_id)
    response = send_file(stream, mimetype="image/webp", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    current = request.args.get("v") == version
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable" if current else "private, no-cache"
    return response


@bp.get("/users")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def list_users():
    return jsonify(users=users.search_users(me(), request.args.get("q", ""), request.args.get("limit")))


@bp.get("/users/<key>")
@signed_in
def get_user(key):
    return jsonify(users.get_user(me(), key))
