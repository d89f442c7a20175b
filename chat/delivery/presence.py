"""Who is online, across tabs, workers and machines; and short-lived throttles (typing).

Each process holding someone's streams holds a token for them that expires unless the process refreshes
it (at every heartbeat), so a crashed worker's streams stop counting within one TTL. A person is
``online`` with at least one live token, ``away`` if they also said so (all their tabs hidden),
``offline`` with none. ``last_seen`` tells when someone last had a stream (Web Push waits until nobody
has for a while).

A token given up with a ``grace`` stays live that much longer: a stream dropped and reopened within it
(a network blip, a deploy, a reconnect storm) changes nobody's status, so nothing is announced; if it is
not reopened, the relay's upkeep finds the person in ``expired_users`` and announces them offline.
"""
import threading
import time

PRESENCE_KEY = "presence:{}"
AWAY_KEY = "presence:{}:away"
USERS_KEY = "presence:users"  # user -> when their newest token expires, for reaping crashed streams
SEEN_KEY = "presence:seen"  # user -> when a stream of theirs was last opened, renewed or closed
HELD_KEY = "presence:held"  # set while some process's streams queue to be set up: lapses wait to be reported
EXPIRED_PER_LOOK = 500  # lapsed people reported by one look (the upkeep looks every RELAY_INTERVAL)
LEAVE_PER_CALL = 1000  # people given up by one script call (``leave_many``)
RENEW_PER_CALL = 500  # people renewed by one script call (``refresh_many``; it holds Redis for ~4 ms)

# KEYS: USERS_KEY, SEEN_KEY, then each person's token set. ARGV: the token, then per person: their id, the
# latest expiry a renewal before the close could have set, the expiry the grace gives, when they left.
# A token renewed later than that (the person came back here meanwhile) is left as it is.
LEAVE = """
local token = ARGV[1]
for i = 3, #KEYS do
  local j = 2 + (i - 3) * 4
  local score = redis.call('ZSCORE', KEYS[i], token)
  if score and tonumber(score) <= tonumber(ARGV[j + 1]) then
    redis.call('ZADD', KEYS[i], 'LT', ARGV[j + 2], token)
    redis.call('ZADD', KEYS[1], 'LT', ARGV[j + 2], ARGV[j])
    redis.call('ZADD', KEYS[2], ARGV[j + 3], ARGV[j])
  end
end
return 0
"""

# KEYS: USERS_KEY, SEEN_KEY, then each person's token set. ARGV: the token, now, the token's new expiry, the
# token set's TTL in seconds, then each person's id. Returns those others were told are offline: no live
# token, and not waiting in USERS_KEY to be reported (reported lapsed already, or lost with a restart).
RENEW = """
local token, now, expiry, keep = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local back = {}
for i = 3, #KEYS do
  local user = ARGV[i + 2]
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) == 0 and not redis.call('ZSCORE', KEYS[1], user) then
    back[#back + 1] = user
  end
  redis.call('ZADD', KEYS[i], expiry, token)
  redis.call('EXPIRE', KEYS[i], keep)
  redis.call('ZADD', KEYS[1], 'GT', expiry, user)
  redis.call('ZADD', KEYS[2], now, user)
end
return back
"""


def status_of(live, away):
    if not live:
        return "offline"
    return "away" if away else "online"


class MemoryPresence:
    """Presence for the in-process broker."""

    def __init__(self):
        self._tokens = {}  # user_id -> {token: expires_at}
        self._away = {}    # user_id -> expires_at
        self._throttles = {}
        self._seen = {}    # user_id -> when a stream of theirs was last opened, renewed or closed
        self._held = 0     # lapses go unreported until then (see ``hold``)
        self._lock = threading.Lock()

    def _live(self, user_id, now):
        """A new dict of the person's live tokens (lapsed ones stay until ``expired_users`` reports them)."""
        return {token: expires for token, expires in self._tokens.get(user_id, {}).items() if expires > now}

    def connect(self, user_id, token, ttl):
        """Count a stream; True if the person was offline as others were told: no live token, and none lapsed
        that ``expired_users`` has yet to report (then nobody was told they left, so nothing changed)."""
        now = time.time()
        with self._lock:
            first = not self._tokens.get(user_id)
            tokens = self._live(user_id, now)
            tokens[token] = now + ttl
            self._tokens[user_id] = tokens
            self._seen[user_id] = now
            return first

    def refresh(self, user_id, token, ttl):
        with self._lock:
            now = time.time()
            self._tokens.setdefault(user_id, {})[token] = now + ttl
            self._seen[user_id] = now

    def refresh_many(self, user_ids, token, ttl):
        """Renew ``token`` for each of ``user_ids``; returns those others were told are offline (their
        tokens all gone: reported lapsed, or lost with the store)."""
        with self._lock:
            now = time.time()
            back = []
            for user_id in user_ids:
                if not self._tokens.get(user_id):
                    back.append(user_id)
                tokens = self._live(user_id, now)
                tokens[token] = now + ttl
                self._tokens[user_id] = tokens
                self._seen[user_id] = now
            return back

    def disconnect(self, user_id, token):
        """Give up a token at once (``leave_many`` gives one up after a grace); True if the person is offline
        now because of it."""
        with self._lock:
            now = time.time()
            tokens = self._tokens.get(user_id, {})
            had = token in tokens
            if had:
                self._seen[user_id] = now
            tokens.pop(token, None)
            if not self._live(user_id, now):
                self._tokens.pop(user_id, None)
                return had
            return False

    def leave_many(self, closed, token, grace, ttl):
        """Give up ``token`` after a ``grace`` for many people at once, each counted from when their last
        stream under it closed (``closed``: ``{user_id: unix time}``), and only where the token was not renewed
        since (a stream reopened meanwhile keeps its full ``ttl``). Nothing is announced: ``expired_users``
        reports each person once their last token lapses."""
        with self._lock:
            for user_id, closed_at in closed.items():
                tokens = self._tokens.get(user_id, {})
                if token in tokens and tokens[token] <= closed_at + ttl:
                    tokens[token] = min(tokens[token], closed_at + grace)
                    self._seen[user_id] = closed_at

    def set_away(self, user_id, away, ttl):
        with self._lock:
            if away:
                self._away[user_id] = time.time() + ttl
            else:
                self._away.pop(user_id, None)

    def statuses(self, user_ids):
        now = time.time()
        with self._lock:
            return {u: status_of(bool(self._live(u, now)), self._away.get(u, 0) > now) for u in user_ids}

    def online_among(self, user_ids):
        """The people of ``user_ids`` with a live stream somewhere (online or away), as a set."""
        now = time.time()
        with self._lock:
            return {u for u in user_ids if self._live(u, now)}

    def last_seen(self, user_ids):
        """``{user_id: unix time or None}``: now for people with a live stream, else when they last had one."""
        now = time.time()
        with self._lock:
            return {u: now if self._live(u, now) else self._seen.get(u) for u in user_ids}

    def hold(self, seconds):
        """Keep lapses unreported for ``seconds`` (``expired_users`` then reports none): streams are on their
        way back."""
        with self._lock:
            self._held = max(self._held, time.time() + seconds)

    def held(self):
        return self._held > time.time()

    def expired_users(self):
        """People whose every stream expired without closing (a crashed process); each reported once."""
        now = time.time()
        with self._lock:
            gone = [u for u, tokens in self._tokens.items() if tokens and not self._live(u, now)]
            for user_id in gone:
                del self._tokens[user_id]
            return gone

    def throttle(self, key, seconds):
        """True at most once per ``seconds`` for ``key``."""
        now = time.monotonic()
        with self._lock:
            if self._throttles.get(key, 0) > now:
                return False
            self._throttles[key] = now + seconds
            if len(self._throttles) > 10_000:
                self._throttles = {k: v for k, v in self._throttles.items() if v > now}
            return True


class RedisPresence:
    """Presence in Redis: a sorted set of stream tokens per person, scored by expiry."""

    def __init__(self, client, prefix=""):
        self._client = client  # a callable returning this process's Redis client
        self._prefix = prefix  # the database's namespace (see redis_log.Keys)

    def connect(self, user_id, token, ttl):
        """Count a stream; True if the person was offline as others were told (see ``MemoryPresence``)."""
        now, key = time.time(), self._prefix + PRESENCE_KEY.format(user_id)
        pipe = self._client().pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        pipe.zscore(self._prefix + USERS_KEY, user_id)  # still there: lapsed, but not reported offline yet
        pipe.zadd(key, {token: now + ttl})
        pipe.expire(key, int(ttl) + 1)
        pipe.zadd(self._prefix + USERS_KEY, {user_id: now + ttl}, gt=True)
        pipe.zadd(self._prefix + SEEN_KEY, {user_id: now})
        found = pipe.execute()
        return found[1] == 0 and found[2] is None

    def refresh(self, user_id, token, ttl):
        now, key = time.time(), self._prefix + PRESENCE_KEY.format(user_id)
        pipe = self._client().pipeline(transaction=False)
        pipe.zadd(key, {token: now + ttl})
        pipe.expire(key, int(ttl) + 1)
        pipe.zadd(self._prefix + USERS_KEY, {user_id: now + ttl}, gt=True)
        pipe.zadd(self._prefix + SEEN_KEY, {user_id: now})
        pipe.execute()

    def refresh_many(self, user_ids, token, ttl):
        """Renew ``token`` for each of ``user_ids``, one round trip per ``RENEW_PER_CALL`` people; returns those
        others were told are offline: no live token, and not waiting in ``USERS_KEY`` to be reported
        (reported lapsed already, or lost with a Redis restart).

        A script, not a pipeline: every worker renews all of its people once a heartbeat, and packing four
        commands a person in Python cost 30-45 µs of CPU each (150-230 ms for 5,000 people, about an eighth of
        what a server holding 10,000 idle streams spent); a script call's arguments are packed in C."""
        user_ids = [str(u) for u in user_ids]
        now = time.time()
        back = []
        for start in range(0, len(user_ids), RENEW_PER_CALL):
            chunk = user_ids[start:start + RENEW_PER_CALL]
            keys = [self._prefix + USERS_KEY, self._prefix + SEEN_KEY]
            keys += [self._prefix + PRESENCE_KEY.format(user_id) for user_id in chunk]
            found = self._client().eval(RENEW, len(keys), *keys, token, repr(now), repr(now + ttl),
                                        int(ttl) + 1, *chunk)
            back += [u.decode() if isinstance(u, bytes) else u for u in found]
        return back

    def disconnect(self, user_id, token):
        """See ``MemoryPresence.disconnect``."""
        key = self._prefix + PRESENCE_KEY.format(user_id)
        pipe = self._client().pipeline(transaction=True)
        pipe.zrem(key, token)
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zcard(key)
        removed, _, left = pipe.execute()
        if removed:
            self._client().zadd(self._prefix + SEEN_KEY, {user_id: time.time()})
        if removed and not left:
            self._client().zrem(self._prefix + USERS_KEY, user_id)
            return True
        return False

    def leave_many(self, closed, token, grace, ttl):
        """See ``MemoryPresence.leave_many``: one round trip per ``LEAVE_PER_CALL`` people."""
        people = list(closed.items())
        for start in range(0, len(people), LEAVE_PER_CALL):
            chunk = people[start:start + LEAVE_PER_CALL]
            keys = [self._prefix + USERS_KEY, self._prefix + SEEN_KEY]
            keys += [self._prefix + PRESENCE_KEY.format(user_id) for user_id, _ in chunk]
            args = [token]
            for user_id, closed_at in chunk:
                args += [user_id, repr(closed_at + ttl), repr(closed_at + grace), repr(closed_at)]
            self._client().eval(LEAVE, len(keys), *keys, *args)

    def set_away(self, user_id, away, ttl):
        if away:
            self._client().set(self._prefix + AWAY_KEY.format(user_id), "1", ex=int(ttl))
        else:
            self._client().delete(self._prefix + AWAY_KEY.format(user_id))

    def statuses(self, user_ids):
        user_ids = list(user_ids)
        if not user_ids:
            return {}
        now = time.time()
        pipe = self._client().pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zcount(self._prefix + PRESENCE_KEY.format(user_id), now, "+inf")
            pipe.exists(self._prefix + AWAY_KEY.format(user_id))
        found = pipe.execute()
        return {u: status_of(found[2 * i] > 0, found[2 * i + 1] > 0) for i, u in enumerate(user_ids)}

    def online_among(self, user_ids):
        # USERS_KEY holds when each person's newest token expires: one look for any number of people.
        user_ids = list(user_ids)
        if not user_ids:
            return set()
        now = time.time()
        expires = self._client().zmscore(self._prefix + USERS_KEY, user_ids)
        return {u for u, when in zip(user_ids, expires, strict=True) if when is not None and when > now}

    def last_seen(self, user_ids):
        user_ids = list(user_ids)
        if not user_ids:
            return {}
        now = time.time()
        pipe = self._client().pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zcount(self._prefix + PRESENCE_KEY.format(user_id), now, "+inf")
        pipe.zmscore(self._prefix + SEEN_KEY, user_ids)
        found = pipe.execute()
        seen = found[-1]
        return {u: now if found[i] > 0 else seen[i] for i, u in enumerate(user_ids)}

    def hold(self, seconds):
        self._client().set(self._prefix + HELD_KEY, "1", px=int(seconds * 1000))

    def held(self):
        return bool(self._client().exists(self._prefix + HELD_KEY))

    def expired_users(self):
        # Up to EXPIRED_PER_LOOK people in three round trips, however many lapsed together.
        client, now, users = self._client(), time.time(), self._prefix + USERS_KEY
        due = client.zrangebyscore(users, "-inf", now, start=0, num=EXPIRED_PER_LOOK)
        if not due:
            return []
        pipe = client.pipeline(transaction=False)
        for user_id in due:
            pipe.zrange(self._prefix + PRESENCE_KEY.format(user_id), -1, -1, withscores=True)
        newest = pipe.execute()
        pipe, removing = client.pipeline(transaction=False), []
        for user_id, token in zip(due, newest, strict=True):
            if token and token[0][1] > now:  # still live (another tab): look again when that one lapses
                pipe.zadd(users, {user_id: token[0][1]}, gt=True)
            else:
                pipe.zrem(users, user_id)
            removing.append(not (token and token[0][1] > now))
        answers = pipe.execute()
        # Whoever removes a person reports them, once.
        return [user_id for user_id, removes, answer in zip(due, removing, answers, strict=True)
                if removes and answer]

    def throttle(self, key, seconds):
        return bool(self._client().set(f"{self._prefix}throttle:{key}", "1", nx=True, px=int(seconds * 1000)))
