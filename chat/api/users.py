"""The signed-in user and the directory."""
from flask import jsonify, request

from ..actions import accounts, users
from ..security import per_user, without_query
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/me")
@signed_in
def get_me():
    return jsonify(accounts.get_me(me()))


@bp.patch("/me")
@signed_in
def update_me():
    data = json_body()
    return jsonify(accounts.update_profile(me(), data.get("display_name"), data.get("bio"),
                                           data.get("avatar_url", accounts.UNCHANGED)))


@bp.get("/users")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def list_users():
    return jsonify(users=users.search_users(me(), request.args.get("q", ""), request.args.get("limit")))


@bp.get("/users/<key>")
@signed_in
def get_user(key):
    return jsonify(users.get_user(me(), key))
