"""Supabase Auth access tokens against the API and the event stream (chat.supabase_auth).

Tokens are signed with keys generated here; the project's JWKS is served from a loopback HTTP server, so
the verification path (PyJWT, the cached key set, the refresh on an unknown ``kid``) is the real one.
"""
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chat.actions import accounts

from .test_events_api import open_stream

SECRET = "a-supabase-jwt-secret-of-at-least-32-characters"


class JwksServer:
    """Serves ``keys`` (a list of JWK dicts) at /auth/v1/.well-known/jwks.json and counts the fetches."""

    def __init__(self):
        self.keys, self.fetches = [], 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/auth/v1/.well-known/jwks.json":
                    self.send_error(404)
                    return
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, *keys):
        self.keys = [_jwk(private, kid) for private, kid in keys]


def _jwk(private, kid):
    alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(private.public_key())), "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks():
    server = JwksServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture
def supa(app, jwks, rsa_key):
    """The app with SUPABASE_URL pointing at the loopback JWKS server, which publishes ``rsa_key`` as k1."""
    jwks.publish((rsa_key, "k1"))
    jwks.fetches = 0
    app.config["SUPABASE_URL"] = jwks.url
    app.config["SUPABASE_JWKS_COOLDOWN_SECONDS"] = 0
    return app


def claims(jwks, sub=None, **changes):
    now, sub = int(time.time()), sub or str(uuid.uuid4())
    base = {"sub": sub, "aud": "authenticated", "role": "authenticated",
            "iss": f"{jwks.url}/auth/v1", "iat": now, "exp": now + 3600, "email": f"ana.{sub[:8]}@example.org",
            "user_metadata": {"full_name": "Ana Lima", "user_name": "ana"}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, key, kid="k1", alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def _hs256_by_hand(payload, key):
    """An HS256 token keyed with ``key`` (PyJWT refuses to make one with a public key: the old confusion attack)."""
    b64 = jwt.utils.base64url_encode
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()) + b"." + \
        b64(json.dumps(payload).encode())
    return (signing_input + b"." + b64(hmac.new(key, signing_input, hashlib.sha256).digest())).decode()


def me(app, token):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_token_creates_the_profile_once_keyed_by_sub(supa, jwks, rsa_key):
    payload = claims(jwks, email="ana@example.org")
    token = sign(payload, rsa_key)
    first = me(supa, token)
    assert first.status_code == 200, first.json
    assert first.json["id"] == payload["sub"]
    assert first.json["display_name"] == "Ana Lima" and first.json["username"] == "ana"
    assert first.json["email"] == "ana@example.org"
    again = me(supa, sign(claims(jwks, sub=payload["sub"], user_metadata={"full_name": "Other"}), rsa_key))
    assert again.json == first.json  # the same profile, not a second one
    assert jwks.fetches == 1  # the key set is cached
    with pytest.raises(Exception, match="Wrong email"):  # the profile has no password to sign in with
        accounts.authenticate("ana", "!supabase-auth")


def test_refused_tokens(supa, jwks, rsa_key):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = jwt.encode(claims(jwks), None, algorithm="none")
    public_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    header, _body, _ = sign(claims(jwks), rsa_key).split(".")
    refused = {
        "expired": sign(claims(jwks, exp=int(time.time()) - 60), rsa_key),
        "wrong audience": sign(claims(jwks, aud="anon"), rsa_key),
        "no audience": sign(claims(jwks, aud=None), rsa_key),
        "wrong issuer": sign(claims(jwks, iss="https://elsewhere.example/auth/v1"), rsa_key),
        "no expiry": sign(claims(jwks, exp=None), rsa_key),
        "wrong key, known kid": sign(claims(jwks), other_key),
        "alg none": unsigned,
        "alg none with a kid": jwt.encode(claims(jwks), None, algorithm="none", headers={"kid": "k1"}),
        "HS256 without a configured secret": sign(claims(jwks), SECRET, alg="HS256"),
        "HS256 keyed with the public key": _hs256_by_hand(claims(jwks), public_pem),
        "tampered payload": f"{header}.{jwt.utils.base64url_encode(b'{}').decode()}.x",
        "anon role": sign(claims(jwks, role="anon"), rsa_key),
        "sub not a uuid": sign(claims(jwks, sub="not-a-uuid"), rsa_key),
        "garbage": "a.b.c",
    }
    for reason, token in refused.items():
        response = me(supa, token)
        assert response.status_code == 401, (reason, response.json)
        assert response.json["error"]["code"] == "unauthorized", reason


def test_hs256_with_the_project_secret(supa, jwks):
    supa.config["SUPABASE_JWT_SECRET"] = SECRET
    assert me(supa, sign(claims(jwks), SECRET, alg="HS256")).status_code == 200
    assert me(supa, sign(claims(jwks), SECRET + "x", alg="HS256")).status_code == 401
    assert me(supa, sign(claims(jwks, exp=int(time.time()) - 60), SECRET, alg="HS256")).status_code == 401


def test_a_rotated_key_is_fetched_on_its_unknown_kid(supa, jwks, rsa_key):
    assert me(supa, sign(claims(jwks), rsa_key)).status_code == 200
    assert jwks.fetches == 1
    new_key = ec.generate_private_key(ec.SECP256R1())
    jwks.publish((new_key, "k2"))  # the project rotated: k1 is gone
    assert me(supa, sign(claims(jwks), new_key, kid="k2", alg="ES256")).status_code == 200
    assert jwks.fetches == 2
    assert me(supa, sign(claims(jwks), rsa_key)).status_code == 401  # the retired key no longer verifies


def test_unknown_kids_refetch_the_key_set_at_most_once_per_cooldown(supa, jwks, rsa_key):
    supa.config["SUPABASE_JWKS_COOLDOWN_SECONDS"] = 60
    assert me(supa, sign(claims(jwks), rsa_key)).status_code == 200
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        assert me(supa, sign(claims(jwks), rsa_key, kid=kid)).status_code == 401
    assert jwks.fetches <= 2  # the first load, and at most one refresh for all the made-up kids


def test_without_supabase_url_a_valid_token_is_refused(app, jwks, rsa_key):
    jwks.publish((rsa_key, "k1"))
    assert app.config["SUPABASE_URL"] is None
    jwks.fetches = 0
    assert me(app, sign(claims(jwks), rsa_key)).status_code == 401
    assert jwks.fetches == 0


def test_an_email_that_belongs_to_a_chat_account_is_not_joined(supa, jwks, rsa_key, alice):
    response = me(supa, sign(claims(jwks, email=alice["email"]), rsa_key))
    assert response.status_code == 409 and response.json["error"]["field"] == "email"


def test_the_token_user_is_held_to_the_same_rules(supa, jwks, rsa_key, alice, bob, direct, api_as):
    from .conftest import Api
    payload = claims(jwks)
    ana = Api(supa.test_client(), sign(payload, rsa_key))
    assert ana.get(f"/conversations/{direct['id']}").status_code == 404  # not a member: not even seen
    group = api_as(alice).post("/conversations", json={"name": "Ana's club", "member_ids": [payload["sub"]]})
    assert group.status_code == 201, group.json
    sent = ana.post(f"/conversations/{group.json['id']}/messages", json={"body": "hello from supabase"})
    assert sent.status_code == 201 and sent.json["sender_id"] == payload["sub"]
    assert ana.post(f"/conversations/{direct['id']}/messages", json={"body": "x"}).status_code == 404


def test_the_event_stream_accepts_the_token_until_it_expires(supa, jwks, rsa_key, alice, api_as):
    from .conftest import Api
    supa.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    payload = claims(jwks, exp=int(time.time()) + 2)
    ana = Api(supa.test_client(), sign(payload, rsa_key))
    assert ana.get("/me").status_code == 200
    group = api_as(alice).post("/conversations", json={"name": "Live", "member_ids": [payload["sub"]]}).json
    response, reader = open_stream(ana)
    api_as(alice).post(f"/conversations/{group['id']}/messages", json={"body": "live"})
    created = next(e for e in reader.events(2) if e["event"] == "message.created")
    assert created["json"]["body"] == "live"
    deadline = time.time() + 8
    for _ in response.response:  # ends at the first heartbeat after the token's expiry
        assert time.time() < deadline
    response.close()
    assert time.time() >= payload["exp"]  # it ended because the token expired, not before


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_rls_sees_the_tokens_own_sub(supa, jwks, rsa_key):
    import sqlalchemy as sa

    from chat.db import transaction
    payload = claims(jwks)
    assert me(supa, sign(payload, rsa_key)).status_code == 200
    with transaction(payload["sub"]) as conn:  # how every action of this person runs
        assert conn.execute(sa.text("select auth.uid()::text, auth.role()")).one() == (payload["sub"],
                                                                                      "authenticated")


def test_profiles_from_awkward_metadata(supa, jwks, rsa_key, alice):
    phone_only = claims(jwks, email=None, user_metadata={"full_name": "Bad\x00Name", "name": "N" * 200})
    response = me(supa, sign(phone_only, rsa_key))
    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "N" * 80  # the unstorable one is skipped, the long one cut
    assert response.json["email"] == f"{phone_only['sub']}@supabase.invalid"
    taken = claims(jwks, user_metadata={"user_name": "alice"})  # alice is a chat username already
    response = me(supa, sign(taken, rsa_key))
    assert response.status_code == 200 and response.json["username"] == f"alice_{taken['sub'][:6]}"
    assert response.json["display_name"] == "alice"  # named from user_name when there is no full name
