"""One webhook delivery over HTTP: the signed request of shared/API.md, sent to an address checked first.

The URL is resolved, its addresses checked (in production: public ones only, ``chat.netguard``), and the
request goes to exactly such an address, with the URL's host as ``Host`` and TLS name. Redirects are not
followed blindly: a 307/308 (the codes that keep a POST a POST) is resolved and checked the same way, at
most ``MAX_REDIRECTS`` times; any other answer outside 2xx is a failure to retry.
"""
import hashlib
import hmac
import json
import time
from urllib.parse import urljoin

import urllib3

from .. import netguard

MAX_REDIRECTS = 3
USER_AGENT = "chat-webhooks/1"


def body_of(delivery_id, event_type, conversation_id, data, created_at) -> bytes:
    """The JSON body of a delivery: ``{id, type, conversation_id, data, created_at}``."""
    return json.dumps({"id": delivery_id, "type": event_type, "conversation_id": conversation_id, "data": data,
                       "created_at": created_at}, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed with ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def send(url, secret, delivery_id, body, *, timeout, production) -> tuple[int | None, str | None]:
    """POST ``body`` to ``url``: ``(status, None)`` on a 2xx, else ``(status or None, why)``."""
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Chat-Delivery": delivery_id,
               "X-Chat-Timestamp": timestamp, "X-Chat-Signature": signature(secret, timestamp, body)}
    for _ in range(MAX_REDIRECTS + 1):
        try:
            target = netguard.resolve(url, production=production)
        except netguard.UnsafeURL as error:
            return None, f"Not sent: {error}"
        status, location, error = _post(target, body, headers, timeout)
        if status in (307, 308) and location:
            url = urljoin(url, location)
            continue
        if status is not None and 200 <= status < 300:
            return status, None
        return status, error or f"The receiver answered {status}."
    return None, "Too many redirects."


def _post(target, body, headers, timeout):
    """``(status, Location, error)`` from the first of the target's addresses that takes a connection."""
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if ":" not in target.host else f"[{target.host}]"
    headers = {**headers, "Host": host if target.port == default_port else f"{host}:{target.port}"}
    error = "No address of the host took the connection."
    for address in target.addresses:
        pool = _pool(target, address, timeout)
        try:
            response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                    retries=False, preload_content=False, assert_same_host=False)
            status, location = response.status, response.headers.get("Location")
            response.drain_conn()
            response.release_conn()
            return status, location, None
        except urllib3.exceptions.NewConnectionError:
            error = "The receiver refused the connection."
            continue
        except urllib3.exceptions.TimeoutError:
            return None, None, f"No answer within {timeout:g} seconds."
        except urllib3.exceptions.HTTPError as failure:
            return None, None, f"The request failed: {type(failure).__name__}."
        finally:
            pool.close()
    return None, None, error


def _pool(target, address, timeout):
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **options)
    return urllib3.HTTPConnectionPool(address, target.port, **options)
