"""A showcase of real-looking use for the look's browser tests and the README screenshots: four people, a
group with a picture, a PDF, code, reactions, an edit and a deletion, and a direct chat with a run of messages.
Seeded through the action layer against a ``browser_support.LiveServer``'s database."""
import io

from .browser_support import sign_up

PEOPLE = [("maya", "Maya Lin", "Architect. Reads on trains."),
          ("noah", "Noah Park", "Builds things. Fixes other things. Coffee first."),
          ("iris", "Iris Watanabe", "Illustrator and weekend climber."),
          ("leo", "Leo Moreau", "")]


def picture_file(name="cafe.png"):
    """A 480×300 PNG (a soft gradient) as an upload."""
    from PIL import Image
    from werkzeug.datastructures import FileStorage
    image = Image.new("RGB", (480, 300))
    image.putdata([(90 + x // 6, 120 + y // 5, 220 - x // 8) for y in range(300) for x in range(480)])
    data = io.BytesIO()
    image.save(data, "PNG")
    data.seek(0)
    return FileStorage(data, filename=name, content_type="image/png")


def pdf_file(name="discussion-questions.pdf"):
    from werkzeug.datastructures import FileStorage
    body = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"%" * 20_000 + b"\n"
    return FileStorage(io.BytesIO(body), filename=name, content_type="application/pdf")


def seed_showcase(server):
    """``(people by username, the group, the direct chat of maya and noah)``."""
    from chat.actions import accounts, attachments, conversations, messages, reactions
    people = {username: sign_up(server, username, full) for username, full, _ in PEOPLE}
    maya, noah, iris, leo = (people[n] for n in ("maya", "noah", "iris", "leo"))
    with server.actions():
        for username, _, bio in PEOPLE:
            if bio:
                accounts.update_profile(people[username]["id"], bio=bio)
        group = conversations.create_group(maya["id"], "Book club", [noah["id"], iris["id"], leo["id"]])

        def say(who, text, conversation=group, **kw):
            return messages.send_message(who["id"], conversation["id"], text, **kw)[0]

        say(iris, "Next meeting on Thursday? I finally finished chapter 12.")
        say(leo, "Thursday works. Same café as last time?")
        booked = say(maya, "Yes! I booked the corner table for 7pm.")
        reactions.add_reaction(noah["id"], booked["id"], "🎉")
        reactions.add_reaction(iris["id"], booked["id"], "🎉")
        picture = attachments.upload(noah["id"], picture_file())
        say(noah, "", attachment_ids=[picture["id"]])
        say(noah, "The view from there last time.")
        questions = attachments.upload(iris["id"], pdf_file())
        edited = say(iris, "Here are the discussion questions.", attachment_ids=[questions["id"]])
        messages.edit_message(iris["id"], edited["id"], "Here are the discussion questions for Thursday.")
        oops = say(leo, "wrong chat, sorry")
        messages.delete_message(leo["id"], oops["id"])
        say(leo, "The reading list lives in `notes/books.md`:\n```\nch. 12  The long walk\nch. 13  Harbour\n```")
        direct, _ = conversations.open_direct(noah["id"], maya["id"])
        for who, line in [(noah, "Hey Maya, are you coming on Thursday?"),
                          (maya, "Wouldn't miss it. Could you bring the projector?"),
                          (noah, "Sure. I'll fix the cable first, it has been flaky since the last meetup."),
                          (noah, "Also: the café closes at 10, so let's start on time."),
                          (noah, "**Bring** the _questions_ too.")]:
            say(who, line, conversation=direct)
        other, _ = conversations.open_direct(leo["id"], maya["id"])
        say(leo, "Can you send me the address?", conversation=other)
    return people, group, direct
