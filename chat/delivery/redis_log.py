"""The delivery log in Redis: the Lua script that publishes one outbox row, and the cursor check.

Keys: ``user:{id}:events`` (a stream per user, ``MAXLEN ~ N``), ``outbox:{row}`` (claimed with ``SET NX``
so a retried row does nothing), ``outbox:{row}:{n}`` (payloads the row's entries share), ``chat:epoch``
(a random name for this life of the data: a Redis that lost it starts another). Live events go to the
``chat:events`` channel as ``d\\n<epoch>\\n<entry ids>\\n<json>`` (logged) or ``e\\n<json>`` (typing,
presence, session).

Every name is prefixed with the database's identity (``Keys``): two databases sharing one Redis (a reset
development database, staging and production on one add-on) never see each other's logs, guards, epoch
or channel. Outbox ids restart at 1 in a fresh database; without the prefix its rows would meet the
guards an earlier database left and count as "already published".

Payloads are what costs memory: each is kept ``blob_seconds`` for replay (then a resuming client gets
``reset`` and reloads), and one larger than ``big_bytes`` only ``big_seconds``, long enough for a stream
to bridge a short gap in the live feed. The live path always carries the whole payload.
"""
import secrets

from .broker import CursorTooOld
from .events import entry_key, json_text

CHANNEL = "chat:events"
EPOCH_KEY = "chat:epoch"
DEDUPE_SECONDS = 24 * 3600  # a relay retries a row within seconds; a day is ample
BLOB_SECONDS = 6 * 3600     # entries older than this cannot be replayed: such a client gets ``reset``
BIG_BLOB_BYTES = 8 * 1024   # a payload larger than this is kept only ``BIG_BLOB_SECONDS`` for replay
BIG_BLOB_SECONDS = 300


class Keys:
    """Every Redis name the delivery uses, under ``namespace`` (the database's identity; none in tests)."""

    def __init__(self, namespace=None):
        self.prefix = f"{namespace}:" if namespace else ""
        self.channel = self.prefix + CHANNEL
        self.epoch = self.prefix + EPOCH_KEY

    def stream(self, user_id):
        return f"{self.prefix}user:{user_id}:events"

    def row(self, row_id):
        return f"{self.prefix}outbox:{row_id}"

# KEYS: outbox:{row}, chat:epoch, then one stream key per delivery. ARGV: row, a candidate epoch, the
# dedupe TTL, MAXLEN, (unused), the channel, the conversation, the live message's JSON, the shared
# payloads (count, then name/value/TTL triples), then the deliveries in groups sharing type, payload and index:
# (count of groups, then per group: type, payload name, k, size, "1" if each has its own fields and
# then those fields, one per delivery).
PUBLISH_ROW = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return false end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
end
local i = 10
for _ = 1, tonumber(ARGV[9]) do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[i + 2])
  i = i + 3
end
if #KEYS == 2 then return epoch end
local ids, key = {}, 3
local groups = tonumber(ARGV[i])
i = i + 1
for _ = 1, groups do
  local t, b, k, n, own = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4] == '1'
  i = i + 5
  for _ = 1, n do
    local x = ''
    if own then
      x = ARGV[i]
      i = i + 1
    end
    ids[#ids + 1] = redis.call('XADD', KEYS[key], 'MAXLEN', '~', ARGV[4], '*', 't', t, 'b', b, 'x', x, 'k', k,
                               'r', ARGV[1], 'c', ARGV[7])
    key = key + 1
  end
end
redis.call('PUBLISH', ARGV[6], 'd\\n' .. epoch .. '\\n' .. table.concat(ids, ',') .. '\\n' .. ARGV[8])
return epoch
"""


def stream_key(user_id):
    return f"user:{user_id}:events"


def script_args(row_id, conversation_id, deliveries, log_length, keys=None, blob_seconds=BLOB_SECONDS,
                big_bytes=BIG_BLOB_BYTES, big_seconds=BIG_BLOB_SECONDS):
    """``(keys, args)`` for ``PUBLISH_ROW``: one row's deliveries, each shared payload stored once.

    The live message is ``{"r": row, "c": conversation, "b": {name: payload}, "g": [[type, name, k,
    [user…], [own fields…] | null]…]}``; its entry ids follow the groups' order.
    """
    keys = keys or Keys()
    names, blob_args, blob_json, groups, ks = {}, [], [], {}, {}
    for d in deliveries:
        if id(d.base) not in names:
            names[id(d.base)] = name = f"{keys.row(row_id)}:{len(names)}"
            text = json_text(d.base)
            big = 4 * len(text) > big_bytes and len(text.encode()) > big_bytes  # (UTF-8: 1 to 4 bytes each)
            blob_args += [name, text, min(big_seconds, blob_seconds) if big else blob_seconds]
            blob_json.append(f"{json_text(name)}:{text}")
        k = ks[d.user_id] = ks.get(d.user_id, -1) + 1
        group = groups.setdefault((k, d.type, names[id(d.base)], bool(d.extra)), ([], []))
        group[0].append(d.user_id)
        group[1].append(d.extra)
    names_used, group_args, live = [keys.row(row_id), keys.epoch], [len(groups)], []
    for (k, event_type, name, own), (people, extras) in sorted(groups.items(), key=lambda g: g[0][0]):
        names_used += [keys.stream(u) for u in people]  # sorted by k: each person's events stay in order
        group_args += [event_type, name, k, len(people), "1" if own else "0"]
        own_json = [json_text(x) for x in extras] if own else None
        group_args += own_json or []
        live.append(f'[{json_text(event_type)},{json_text(name)},{k},{json_text(people)},'
                    f'{"[" + ",".join(own_json) + "]" if own else "null"}]')
    message = (f'{{"r":{row_id:d},"c":{json_text(conversation_id)},"b":{{{",".join(blob_json)}}},'
               f'"g":[{",".join(live)}]}}')
    args = [row_id, secrets.token_hex(6), DEDUPE_SECONDS, log_length, blob_seconds, keys.channel,
            conversation_id or "", message, len(names), *blob_args, *group_args]
    return names_used, args


def check_cursor(after, info):
    """Raise ``CursorTooOld`` unless the log still holds every entry after ``after``."""
    after_key = entry_key(after)
    if info is None:  # no log at all: fine only for a cursor from before the user's first event
        if after_key != (0, 0):
            raise CursorTooOld("no delivery log for this user")
        return
    if after_key > entry_key(info["last-generated-id"]):
        raise CursorTooOld(f"entry {after} was never written")
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info["length"])
    if trimmed and (first is None or after_key < entry_key(first[0])):
        raise CursorTooOld(f"entries after {after} were trimmed from the log")
