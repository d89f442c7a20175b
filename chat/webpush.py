"""Web Push: VAPID keys, which endpoints are acceptable, and sending one encrypted push.

Keys are in the contract's format: ``VAPID_PRIVATE_KEY`` the raw 32-byte P-256 private key and
``VAPID_PUBLIC_KEY`` the raw 65-byte uncompressed public key, both base64url without padding. In
development a key pair is made once and kept in the instance folder (``vapid_private_key``); in production
they come from the environment, and with none of the three names set push is off (logged at start), while a
partial or malformed setting stops the app (``ConfigError`` naming the variable).

A push is encrypted as RFC 8291 (``aes128gcm``) and signed with VAPID (RFC 8292) by pywebpush; this module
knows nothing of who gets what (``chat.delivery.push`` decides that) and touches no database.
"""
import base64
import ipaddress
import json
import logging
import os
import socket
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .config import ConfigError

log = logging.getLogger(__name__)

KEY_FILE = "vapid_private_key"
DEVELOPMENT_SUBJECT = "mailto:chat@localhost"
MAX_ENDPOINT = 2000
NAMES = ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError when it is not."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    text = text.strip()
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


def generate_keys() -> tuple[str, str]:
    """A new ``(private, public)`` pair in the contract's format."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _private_raw(key), _public_raw(key)


def _private_raw(key) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def _public_raw(key) -> str:
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))


def public_key_for(private: str) -> str:
    """The public key of a raw private key (ValueError if it is not one)."""
    raw = unb64url(private)
    if len(raw) != 32:
        raise ValueError("a VAPID private key is 32 bytes")
    return _public_raw(ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1()))


def resolve(settings, env, instance_path, development):
    """Fill ``settings``' VAPID_* from the environment, the instance folder (development) or nothing (push off).

    ``settings`` already holds the caller's overrides; a private key among them means nothing is read from or
    written to the instance folder.
    """
    values = {name: settings.get(name) or env.get(name) or None for name in NAMES}
    if values["VAPID_PRIVATE_KEY"] is None and values["VAPID_PUBLIC_KEY"] is None:
        if not development:
            if values["VAPID_SUBJECT"]:
                raise ConfigError("VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY are not set, but VAPID_SUBJECT is: "
                                  "set all three (`flask push keys` makes a pair) or none (no Web Push).")
            settings.update(values)
            return
        values["VAPID_PRIVATE_KEY"] = _development_key(instance_path)
        values["VAPID_PUBLIC_KEY"] = public_key_for(values["VAPID_PRIVATE_KEY"])
    for name in NAMES[:2]:
        if values[name] is None:
            raise ConfigError(f"{name} is not set: Web Push needs VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and "
                              "VAPID_SUBJECT together (`flask push keys` makes a pair).")
    try:
        derived = public_key_for(values["VAPID_PRIVATE_KEY"])
    except ValueError:
        raise ConfigError("VAPID_PRIVATE_KEY is not a raw 32-byte P-256 private key in base64url "
                          "(`flask push keys` prints one).") from None
    try:
        public = unb64url(values["VAPID_PUBLIC_KEY"])
    except ValueError:
        public = b""
    if len(public) != 65 or public[0] != 4:
        raise ConfigError("VAPID_PUBLIC_KEY is not a raw 65-byte uncompressed P-256 public key in base64url.")
    if b64url(public) != derived:
        raise ConfigError("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY.")
    subject = values["VAPID_SUBJECT"] or (DEVELOPMENT_SUBJECT if development else None)
    if subject is None:
        raise ConfigError("VAPID_SUBJECT is not set: a mailto: address or https: URL push services can reach "
                          "you at, e.g. mailto:admin@example.com.")
    if not (subject.startswith("mailto:") and "@" in subject) and not subject.startswith("https://"):
        raise ConfigError(f"VAPID_SUBJECT must be a mailto: address or an https: URL, not {subject!r}.")
    values["VAPID_PUBLIC_KEY"], values["VAPID_SUBJECT"] = derived, subject
    settings.update(values)


def _development_key(instance_path):
    """The instance folder's private key, made on first use (safe when several workers start at once)."""
    path = os.path.join(instance_path, KEY_FILE)
    try:
        with open(path) as f:
            found = f.read().strip()
        if found:
            return found
    except FileNotFoundError:
        pass
    os.makedirs(instance_path, exist_ok=True)
    private, _ = generate_keys()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path) as f:
            return f.read().strip()
    with os.fdopen(fd, "w") as f:
        f.write(private)
    return private


def enabled(config) -> bool:
    return bool(config.get("VAPID_PRIVATE_KEY"))


def init_app(app):
    if not enabled(app.config):
        app.logger.warning("Web Push is off: VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT are not set "
                           "(`flask push keys` makes a key pair).")
    from .push_cli import push_cli
    app.cli.add_command(push_cli)


# ---------------------------------------------------------------------------------------------------------
# Endpoints and subscription keys
# ---------------------------------------------------------------------------------------------------------

def endpoint_problem(endpoint, production: bool) -> str | None:
    """Why ``endpoint`` is not a push endpoint we will send to, or None.

    https only in production, where hosts that are IP addresses of private, loopback or link-local networks
    (or ``localhost``) are refused too; development also takes ``http://127.0.0.1:<port>`` for a local receiver.
    """
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        return "The endpoint must be a push service URL."
    try:
        parts = urlsplit(endpoint)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "The endpoint must be a push service URL."
    if not host or parts.username or parts.password or any(ord(c) < 33 for c in endpoint):
        return "The endpoint must be a push service URL."
    if parts.scheme == "https":
        if production and not _public_host(host):
            return "The endpoint must be on the public internet."
        return None
    if parts.scheme == "http" and not production and host == "127.0.0.1":
        return None
    return "The endpoint must be an https:// URL." if production else \
        "The endpoint must be an https:// URL (or http://127.0.0.1 in development)."


def _public_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: checked again when sending (``resolves_publicly``)
    return address.is_global


def resolves_publicly(endpoint: str) -> bool:
    """True when every address of the endpoint's host is on the public internet (production sends)."""
    host = urlsplit(endpoint).hostname or ""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos)


def key_problem(keys) -> tuple[str, str] | None:
    """``(field, sentence)`` when a PushSubscription's keys are not a P-256 point and a 16-byte secret."""
    if not isinstance(keys, dict):
        return "keys", "keys must be an object with p256dh and auth."
    try:
        p256dh = unb64url(keys.get("p256dh"))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
        if len(p256dh) != 65:
            raise ValueError
    except (ValueError, TypeError):
        return "keys.p256dh", "keys.p256dh must be the browser's P-256 public key (65 bytes, base64url)."
    try:
        auth = unb64url(keys.get("auth"))
    except (ValueError, TypeError):
        auth = b""
    if len(auth) != 16:
        return "keys.auth", "keys.auth must be the browser's 16-byte authentication secret (base64url)."
    return None


# ---------------------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------------------

SENT, GONE, RETRY = "sent", "gone", "retry"


def send(config, subscription, payload: dict, *, topic: str | None = None) -> tuple[str, str]:
    """Encrypt and POST ``payload`` (JSON) to one subscription: ``(outcome, detail)``.

    ``outcome`` is ``SENT`` (2xx), ``GONE`` (404/410: forget the subscription) or ``RETRY`` (anything else:
    a network error, a 429 or 5xx, a refusal). ``topic`` lets the push service replace an undelivered push
    of the same topic instead of queueing a second one.
    """
    import requests
    from pywebpush import WebPushException, webpush

    production = config.get("CHAT_ENV") == "production"
    endpoint = subscription["endpoint"]
    if endpoint_problem(endpoint, production) or (production and not resolves_publicly(endpoint)):
        return GONE, "not a push endpoint we send to"
    parts = urlsplit(endpoint)
    headers = {"Urgency": "normal"}
    if topic:
        headers["Topic"] = topic
    try:
        response = webpush(
            {"endpoint": endpoint, "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]}},
            data=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            vapid_private_key=config["VAPID_PRIVATE_KEY"],
            vapid_claims={"sub": config["VAPID_SUBJECT"], "aud": f"{parts.scheme}://{parts.netloc}"},
            content_encoding="aes128gcm", ttl=int(config["PUSH_TTL_SECONDS"]), headers=headers,
            timeout=float(config["PUSH_TIMEOUT_SECONDS"]), requests_session=_session(requests))
    except WebPushException as error:
        status = error.status_code
        if status in (404, 410):
            return GONE, f"{status} from the push service"
        return RETRY, f"{status or 'no answer'} from the push service"
    except Exception as error:  # a network failure, a malformed key: retried, then given up
        return RETRY, f"{type(error).__name__}: {error}"
    return SENT, str(getattr(response, "status_code", ""))


def _session(requests):
    """A session that follows no redirect: a push service answers where it is asked."""
    session = requests.Session()
    session.max_redirects = 0
    return session
