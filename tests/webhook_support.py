"""A webhook receiver on loopback: checks each delivery's signature and records what it acknowledged.

``Receiver(secret)`` is a small threaded http.server. ``mode`` decides its answer: "ok" (204), "fail" (500);
``stop()`` takes it down (connections refused) and ``start()`` brings it back on the same port.
``accepted`` holds the deliveries it answered 2xx, in arrival order; ``answered`` counts every request.
"""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, secret=None):
        self.secret, self.mode, self.port = secret, "ok", 0
        self.accepted, self.refused, self.bad_signatures, self.answered = [], [], [], 0
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/events"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.take(dict(self.headers), body, self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def take(self, headers, body, handler):
        with self.lock:
            self.answered += 1
            delivery = {"headers": headers, "raw": body, "json": json.loads(body)}
            if self.secret is not None and not self.signed(headers, body):
                self.bad_signatures.append(delivery)
                status = 400
            elif self.mode == "ok":
                self.accepted.append(delivery)
                status = 204
            else:
                self.refused.append(delivery)
                status = 500
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def signed(self, headers, body):
        timestamp = headers.get("X-Chat-Timestamp", "")
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("X-Chat-Signature", ""), "sha256=" + expected)

    def events(self):
        """``(type, data)`` of each accepted delivery, in arrival order."""
        return [(d["json"]["type"], d["json"]["data"]) for d in self.accepted]

    def delivery_ids(self):
        return [d["json"]["id"] for d in self.accepted]
