"""Sign up, get a token, sign out (this credential, or every one), change the password.

Sign-in is limited per address and per account, sharing its counters with the web form.
"""
from flask import jsonify
from flask_login import current_user

from .. import auth as auth_module
from ..actions import accounts, sessions
from ..security import per_account_sign_in, per_address_auth
from . import bp
from .helpers import json_body, signed_in


@bp.post("/auth/signup")
@per_address_auth()
def signup():
    data = json_body()
    user = accounts.sign_up(data.get("email"), data.get("username"), data.get("password"),
                            data.get("display_name"))
    return jsonify(user=user, token=accounts.issue_token(user["id"])), 201


@bp.post("/auth/token")
@per_address_auth()
@per_account_sign_in()
def token():
    data = json_body()
    user = accounts.authenticate(data.get("login"), data.get("password"))
    return jsonify(user=user, token=accounts.issue_token(user["id"]))


@bp.post("/auth/logout")
@signed_in
def logout():
    """Revoke the bearer token this request carries, or end the cookie's session."""
    auth_module.sign_out(current_user)
    return "", 204


@bp.post("/auth/logout-all")
@signed_in
def logout_all():
    """Revoke every session and bearer token of the caller, this one included."""
    sessions.revoke_all(current_user.id)
    auth_module.sign_out(current_user)  # then end this request's session and tell the open streams
    return "", 204


@bp.post("/me/password")
@signed_in
def change_password():
    """``{current_password, new_password}``: every other session and token ends; this one stays."""
    data = json_body()
    accounts.change_password(current_user.id, data.get("current_password"), data.get("new_password"),
                             keep_session=current_user.session_id, keep_token=current_user.token_id)
    auth_module.announce_revocation(current_user.id)
    return "", 204
