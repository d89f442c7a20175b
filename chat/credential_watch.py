"""Whether the credentials behind this process's open event streams still hold, checked together.

Every stream asks at each heartbeat whether the session or bearer token that opened it is still live. Asked
one by one, 10,000 streams with a 15 s heartbeat make 667 queries a second on an idle server; here the
first stream to ask after ``every`` seconds checks every credential asked about lately, one query per
thousand, and the others read the answer. A revocation is still seen at once: it sends the person's streams
a ``session`` event, and a stream that receives one asks the database itself (``auth.stream_alive``).
"""
import os
import threading
import time

from .actions import sessions
from .delivery.stream import MAX_HEARTBEAT

KINDS = ("sessions", "api_tokens")


class CredentialWatch:
    """The credentials asked about in this process, and which of them were found dead by the last check.

    ``live(kind, credential_id)`` answers from a check at most ``every`` seconds old, running one if the last
    is older. A credential not asked about for ``forget`` seconds (its stream closed) is no longer checked.
    If the check fails, it raises for the stream that ran it (which stays open and asks again), and the
    others keep the previous answer until the next try, ``every`` seconds later.
    """

    def __init__(self, every, forget):
        self.pid = os.getpid()
        self.every, self.forget = every, forget
        self.asked = {}        # (kind, id) -> when last asked (monotonic)
        self.dead = set()      # (kind, id) found revoked or expired
        self.checked_at = float("-inf")
        self._lock = threading.Lock()  # gevent's, once monkey-patched: one check at a time

    def live(self, kind, credential_id):
        key, now = (kind, credential_id), time.monotonic()
        self.asked[key] = now
        if key not in self.dead and now - self.checked_at >= self.every and self._lock.acquire(blocking=False):
            try:
                self.checked_at = now  # also on failure: the next try waits its turn
                self._check(now)
            finally:
                self._lock.release()
        return key not in self.dead

    def _check(self, now):
        for key, asked in list(self.asked.items()):
            if now - asked > self.forget:
                del self.asked[key]
        dead = set()
        for kind in KINDS:
            ids = [i for k, i in self.asked if k == kind]
            if ids:
                dead.update((kind, i) for i in sessions.dead_among(kind, ids))
        # A credential once dead stays dead (none comes back to life); a forgotten one leaves the set.
        self.dead = {key for key in self.dead if key in self.asked} | dead


def watch(app):
    """This process's watch for ``app`` (made after fork: each worker checks its own streams)."""
    found = app.extensions.get("chat.credential_watch")
    if found is None or found.pid != os.getpid():
        heartbeat = min(float(app.config["SSE_HEARTBEAT_SECONDS"]), MAX_HEARTBEAT)  # as the streams ask
        found = app.extensions["chat.credential_watch"] = CredentialWatch(every=heartbeat / 3,
                                                                          forget=3 * heartbeat)
    return found
