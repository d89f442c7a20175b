"""Sign up, get a token, sign out."""
from flask import current_app, jsonify
from flask_login import logout_user

from ..actions import accounts
from ..auth import bearer_token
from ..security import limiter
from . import bp
from .helpers import json_body, signed_in


def _auth_limit():
    return current_app.config["AUTH_RATE_LIMIT"]


@bp.post("/auth/signup")
@limiter.limit(_auth_limit)
def signup():
    data = json_body()
    user = accounts.sign_up(data.get("email"), data.get("username"), data.get("password"),
                            data.get("display_name"))
    return jsonify(user=user, token=accounts.issue_token(user["id"])), 201


@bp.post("/auth/token")
@limiter.limit(_auth_limit)
def token():
    data = json_body()
    user = accounts.authenticate(data.get("login"), data.get("password"))
    return jsonify(user=user, token=accounts.issue_token(user["id"]))


@bp.post("/auth/logout")
@signed_in
def logout():
    token_value = bearer_token()
    if token_value:
        accounts.revoke_token(token_value)
    else:
        logout_user()
    return "", 204
