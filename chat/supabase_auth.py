"""Supabase Auth access tokens as API credentials (when ``SUPABASE_URL`` is set).

A token is accepted when PyJWT verifies it: signed by a key of the project's JWKS
(``<SUPABASE_URL>/auth/v1/.well-known/jwks.json``; RS256/ES256/EdDSA, the set cached and fetched again when
a token names an unknown ``kid``, as after a key rotation, with a cooldown) or, for HS256 projects, with
``SUPABASE_JWT_SECRET``; not expired; ``aud`` = ``authenticated``; ``iss`` = ``<SUPABASE_URL>/auth/v1``.
The header's ``alg`` only picks which of the two is tried: an asymmetric key never verifies an HS256 token,
and ``none`` is never accepted. The first valid token creates the chat profile (``actions.supabase_users``).
"""
import logging

import jwt
from flask import current_app

from .actions import supabase_users

log = logging.getLogger(__name__)
ASYMMETRIC = ["RS256", "ES256", "EdDSA"]
AUDIENCE = "authenticated"
LEEWAY_SECONDS = 10  # clock skew between the auth server and this one


def enabled(app=None):
    return bool((app or current_app).config.get("SUPABASE_URL"))


def looks_like_jwt(token):
    return token.count(".") == 2 and not token.startswith("chat_")


def issuer(app=None):
    return (app or current_app).config["SUPABASE_URL"].rstrip("/") + "/auth/v1"


def _jwks_client(app):
    """One PyJWKClient per app: it caches the key set and refreshes it on an unknown ``kid``, at most once per
    ``SUPABASE_JWKS_COOLDOWN_SECONDS`` (so tokens with made-up kids cannot make it hammer the auth server)."""
    client = app.extensions.get("chat.supabase_jwks")
    if client is None:
        client = jwt.PyJWKClient(issuer(app) + "/.well-known/jwks.json", cache_jwk_set=True, lifespan=600,
                                 timeout=5, cooldown_duration=app.config["SUPABASE_JWKS_COOLDOWN_SECONDS"])
        app.extensions["chat.supabase_jwks"] = client
    return client


def verify(token, app=None):
    """The verified claims of a Supabase access token, or None (the reason is logged, never shown)."""
    app = app or current_app._get_current_object()
    try:
        alg = jwt.get_unverified_header(token).get("alg")
        if alg == "HS256":
            secret = app.config.get("SUPABASE_JWT_SECRET")
            if not secret:
                return None
            key, algorithms = secret, ["HS256"]
        elif alg in ASYMMETRIC:
            key, algorithms = _jwks_client(app).get_signing_key_from_jwt(token).key, ASYMMETRIC
        else:
            return None
        claims = jwt.decode(token, key, algorithms=algorithms, audience=AUDIENCE, issuer=issuer(app),
                            leeway=LEEWAY_SECONDS, options={"require": ["exp", "sub", "aud", "iss"]})
    except jwt.PyJWTError as error:
        log.info("Supabase token refused: %s", error)
        return None
    if claims.get("role", AUDIENCE) != AUDIENCE:
        return None
    return claims


def user_for_token(token):
    """``(user dict, claims)`` for a valid Supabase access token, or None."""
    if not enabled() or not looks_like_jwt(token):
        return None
    claims = verify(token)
    if claims is None:
        return None
    return supabase_users.profile_for_claims(claims), claims
