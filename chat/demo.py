"""Demo data through the real actions: alice, bob, carol and the "book-club" group."""
from .actions import accounts, conversations, messages
from .errors import Conflict, Unauthorized

PEOPLE = [
    ("alice", "Alice Liddell", "Curiouser and curiouser."),
    ("bob", "Bob Builder", "Can we fix it?"),
    ("carol", "Carol Danvers", "Higher, further, faster."),
]


def seed(password="password123"):
    """Create (or find) the demo people and their conversations; safe to run twice."""
    people = {}
    for username, display_name, bio in PEOPLE:
        try:
            user = accounts.sign_up(f"{username}@example.com", username, password, display_name)
            user = accounts.update_profile(user["id"], bio=bio)
        except Conflict:
            try:
                user = accounts.authenticate(username, password)
            except Unauthorized:
                raise SystemExit(f"{username} exists with another password; pass --password.") from None
        people[username] = user
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    direct, created = conversations.open_direct(alice["id"], bob["id"])
    if created:
        messages.send_message(alice["id"], direct["id"], "Hi Bob! Have you finished the book?")
        messages.send_message(bob["id"], direct["id"], "Almost — two chapters to go.")
        group = conversations.create_group(alice["id"], "book-club", [bob["id"], carol["id"]])
        messages.send_message(carol["id"], group["id"], "Next meeting on Thursday?")
    return list(people.values())
