"""Who sent a message: names and initials for message partials, rendered the same for every viewer."""
import time
from collections import OrderedDict
from threading import Lock

from ..actions import users
from ..errors import NotFound

_TTL_SECONDS = 60
_MAX = 5000
PUBLIC_FIELDS = ("id", "username", "display_name", "bio", "avatar_url", "created_at", "bot")


class PeopleCache:
    """A small per-process cache of public user dicts by id, so a stream renders without a query each time."""

    def __init__(self):
        self._items = OrderedDict()
        self._lock = Lock()

    def get(self, user_id):
        if user_id is None:
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(user_id)
            if hit and hit[0] > now:
                return hit[1]
        try:
            person = users.get_user(None, user_id)
        except NotFound:
            person = None
        self.put(person or {"id": user_id, "username": "", "display_name": "Former member"})
        return self._items[user_id][1]

    def remember(self, person):
        """Keep the public part of a user dict we already hold (a member list, the signed-in person)."""
        self.put({key: person.get(key) for key in PUBLIC_FIELDS})

    def put(self, person):
        with self._lock:
            self._items[person["id"]] = (time.monotonic() + _TTL_SECONDS, person)
            self._items.move_to_end(person["id"])
            while len(self._items) > _MAX:
                self._items.popitem(last=False)


people_cache = PeopleCache()


def people_for(conversation, messages):
    """``{user_id: user}`` for a conversation's members and every sender in ``messages``."""
    people = {m["id"]: m for m in conversation["members"]}
    for member in conversation["members"]:
        people_cache.remember(member)
    for message in messages:
        sender = message.get("sender_id")
        if sender and sender not in people:
            people[sender] = people_cache.get(sender)
    return people
