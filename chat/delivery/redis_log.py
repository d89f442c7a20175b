"""The delivery log in Redis: the Lua script that publishes one outbox row, and the cursor check.

Keys: ``user:{id}:events`` (a stream per user, ``MAXLEN ~ N``), ``outbox:{row}`` (claimed with ``SET NX``
so a retried row does nothing), ``outbox:{row}:{n}`` (payloads the row's entries share), ``chat:epoch``
(a random name for this life of the data: a Redis that lost it starts another). Live events go to the
``chat:events`` channel as ``d\\n<epoch>\\n<entry ids>\\n<json>`` (logged) or ``e\\n<json>`` (typing,
presence).
"""
import secrets

from .broker import CursorTooOld
from .events import entry_key, json_text

CHANNEL = "chat:events"
EPOCH_KEY = "chat:epoch"
DEDUPE_SECONDS = 24 * 3600  # a relay retries a row within seconds; a day is ample
BLOB_SECONDS = 24 * 3600    # entries older than this cannot be replayed: such a client gets ``reset``

PUBLISH_ROW = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return false end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
end
local i = 10
for _ = 1, tonumber(ARGV[9]) do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[5])
  i = i + 2
end
if #KEYS == 2 then return epoch end
local ids = {}
for j = 3, #KEYS do
  ids[#ids + 1] = redis.call('XADD', KEYS[j], 'MAXLEN', '~', ARGV[4], '*', 't', ARGV[i], 'b', ARGV[i + 1],
                             'x', ARGV[i + 2], 'k', ARGV[i + 3], 'r', ARGV[1], 'c', ARGV[7])
  i = i + 4
end
redis.call('PUBLISH', ARGV[6], 'd\\n' .. epoch .. '\\n' .. table.concat(ids, ',') .. '\\n' .. ARGV[8])
return epoch
"""


def stream_key(user_id):
    return f"user:{user_id}:events"


def script_args(row_id, conversation_id, deliveries, log_length):
    """``(keys, args)`` for ``PUBLISH_ROW``: one row's deliveries, its shared payloads stored once."""
    blob_names, blob_args, blob_json = {}, [], []
    for d in deliveries:
        if id(d.base) not in blob_names:
            name = f"outbox:{row_id}:{len(blob_names)}"
            blob_names[id(d.base)] = name
            text = json_text(d.base)
            blob_args += [name, text]
            blob_json.append(f"{json_text(name)}:{text}")
    keys = [f"outbox:{row_id}", EPOCH_KEY]
    entry_args, events, ks = [], [], {}
    for d in deliveries:
        k = ks[d.user_id] = ks.get(d.user_id, -1) + 1
        extra = json_text(d.extra) if d.extra else ""
        keys.append(stream_key(d.user_id))
        entry_args += [d.type, blob_names[id(d.base)], extra, k]
        events.append([d.user_id, d.type, blob_names[id(d.base)], d.extra or None, k])
    template = '{"r":%d,"c":%s,"b":{%s},"e":%s}' % (
        row_id, json_text(conversation_id), ",".join(blob_json), json_text(events))
    args = [row_id, secrets.token_hex(6), DEDUPE_SECONDS, log_length, BLOB_SECONDS, CHANNEL,
            conversation_id or "", template, len(blob_names)] + blob_args + entry_args
    return keys, args


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
