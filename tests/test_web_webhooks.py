"""The "Webhooks" section of a conversation's settings: add with a plain form (the secret shown once), see how
deliveries go (last status, failing since), delete — for group managers and either member of a direct one."""
import pytest

from chat.actions import messages
from chat.delivery.webhooks import deliver_due

from .web_support import text, web_as_fixture  # noqa: F401  (fixture)
from .webhook_support import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def test_a_group_owner_adds_sees_and_deletes_a_webhook_without_javascript(app, web_as, alice, book_club,
                                                                           receiver):
    browser = web_as(alice)
    settings = text(browser.get(f"/c/{book_club['id']}/settings"))
    assert 'id="webhooks-title"' in settings
    added = browser.post(f"/c/{book_club['id']}/webhooks", {"url": receiver.url})
    page = text(added)
    assert added.status_code == 200 and "whsec_" in page and receiver.url in page
    secret = page.split('class="webhook__secret">', 1)[1].split("<", 1)[0]
    receiver.secret = secret
    settings = text(browser.get(f"/c/{book_club['id']}/settings"))
    assert receiver.url in settings and "nothing sent yet" in settings and secret not in settings

    messages.send_message(alice["id"], book_club["id"], "hello")
    deliver_due(app)
    assert "last delivery" in text(browser.get(f"/c/{book_club['id']}/settings"))
    receiver.mode = "fail"
    messages.send_message(alice["id"], book_club["id"], "again")
    deliver_due(app)
    shown = text(browser.get(f"/c/{book_club['id']}/webhooks"))
    assert "failing" in shown and "answered 500" in shown

    hook_id = shown.split('id="webhook-', 1)[1].split('"', 1)[0]
    deleted = browser.post(f"/c/{book_club['id']}/webhooks/{hook_id}/delete")
    assert deleted.status_code == 303
    assert receiver.url not in text(browser.get(f"/c/{book_club['id']}/settings"))


def test_a_bad_address_is_a_form_error_naming_the_field(web_as, alice, book_club):
    browser = web_as(alice)
    browser.get(f"/c/{book_club['id']}/settings")
    for url, sentence in (("ftp://example.com/x", "The address must start with http:// or https://."),
                          ("", "Enter the address to send events to.")):
        r = browser.post(f"/c/{book_club['id']}/webhooks", {"url": url})
        assert r.status_code == 422
        assert f'<p class="field__error" id="url-error">{sentence}</p>' in text(r)


def test_a_plain_member_sees_no_section_and_cannot_add(web_as, bob, book_club):
    browser = web_as(bob)
    assert 'id="webhooks-title"' not in text(browser.get(f"/c/{book_club['id']}/settings"))
    assert browser.post(f"/c/{book_club['id']}/webhooks", {"url": "https://example.com/x"}).status_code == 403
    assert browser.get(f"/c/{book_club['id']}/webhooks").status_code == 403


def test_either_member_of_a_direct_conversation_has_the_page_and_an_outsider_gets_404(web_as, alice, dave,
                                                                                      direct):
    browser = web_as(alice)
    page = text(browser.get(f"/c/{direct['id']}"))
    assert f'href="/c/{direct["id"]}/webhooks"' in page
    assert browser.post(f"/c/{direct['id']}/webhooks", {"url": "https://example.com/x"}).status_code == 200
    assert web_as(dave).get(f"/c/{direct['id']}/webhooks").status_code == 404
