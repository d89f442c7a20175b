"""redis-py's readiness probe under gevent (chat.delivery.redis_probe), in a monkey-patched child process
against a real Redis: the zero-timeout check uses the system's poll, a waiting one still lets other
greenlets run, and a connection the server closed is still noticed."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.redis

CHILD = r"""
from gevent import monkey; monkey.patch_all()
import json, select, sys, gevent, redis
from chat.delivery import redis_probe

url, install = sys.argv[1], sys.argv[2] == "install"
green_polls = 0
green_poll = select.poll
def counted_poll():
    global green_polls
    green_polls += 1
    return green_poll()
select.poll = counted_poll  # gevent's, counted: what redis-py's probe calls unless the system's is used

installed = redis_probe.install() if install else False
client = redis.Redis.from_url(url)
client.set("probe:x", "1")
green_polls = 0
values = [client.get("probe:x") for _ in range(50)]
polls_for_commands = green_polls

# The server closes the pooled connection: the probe sees it, and the next command reconnects.
name = "probe-" + str(id(client))
client.client_setname(name)
killer = redis.Redis.from_url(url)
for info in killer.client_list():
    if info.get("name") == name:
        killer.client_kill_filter(_id=info["id"])
after_kill = client.get("probe:x")

# A Pub/Sub read that waits lets the worker's other greenlets run meanwhile.
ticks = []
def ticker():
    while True:
        ticks.append(1)
        gevent.sleep(0.01)
pubsub = client.pubsub()
pubsub.subscribe("probe:channel")
pubsub.get_message(timeout=1)  # the subscription's confirmation
beat = gevent.spawn(ticker)
waited = pubsub.get_message(timeout=0.5)
beat.kill()
pubsub.close()
client.delete("probe:x")
print(json.dumps({"installed": installed, "values": [v.decode() for v in values], "after_kill": after_kill.decode(),
                  "polls_for_commands": polls_for_commands, "ticks": len(ticks), "waited": waited}))
"""


def run_child(redis_server, mode):
    out = subprocess.run([sys.executable, "-c", CHILD, redis_server.url, mode], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_zero_timeout_probe_leaves_gevents_poll_alone(redis_server):
    plain = run_child(redis_server, "plain")
    probed = run_child(redis_server, "install")
    assert plain["installed"] is False and probed["installed"] is True
    assert plain["values"] == probed["values"] == ["1"] * 50
    assert plain["polls_for_commands"] >= 50  # one gevent poll per command: what the probe saves
    assert probed["polls_for_commands"] == 0


def test_a_closed_connection_is_noticed_and_a_waiting_read_still_yields(redis_server):
    probed = run_child(redis_server, "install")
    assert probed["after_kill"] == "1"  # the pool's probe saw the closed socket and reconnected
    assert probed["waited"] is None  # nothing was published
    assert probed["ticks"] >= 20  # 0.5 s of waiting, a tick every 10 ms: the loop ran meanwhile


def test_without_gevent_nothing_is_installed():
    from redis._parsers import hiredis

    from chat.delivery import redis_probe

    before = hiredis.select
    assert redis_probe.install() is False
    assert hiredis.select is before
