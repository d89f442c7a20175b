"""The search page (``/search``, the top bar's form) on SQLite and Postgres, without JavaScript."""
import re

from chat.actions import conversations, messages

from .web_support import text, web_as_fixture, web_fixture  # noqa: F401  (fixtures)


def results(response):
    """The results part of the page (the sidebar before it previews messages too)."""
    page = text(response)
    return page[page.index('<div class="page" data-page="search">'):]


def test_the_top_bar_has_a_search_form_that_opens_the_search_page(web_as, alice):
    page = text(web_as(alice).get("/"))
    form = page[page.index('class="search topbar__search"'):]
    form = form[:form.index("</form>")]
    assert 'action="/search"' in form and 'method="get"' in form and 'name="q"' in form


def test_results_are_grouped_by_conversation_marked_and_link_to_the_message(web_as, alice, bob, carol, direct,
                                                                             book_club):
    in_direct, _ = messages.send_message(bob["id"], direct["id"], "The Café <script>x()</script> is open")
    messages.send_message(alice["id"], direct["id"], "unrelated")
    in_club, _ = messages.send_message(carol["id"], book_club["id"], "cafe meeting at noon")
    response = web_as(alice).get("/search?q=CAFE")
    assert response.status_code == 200
    page = text(response)
    results = page[page.index('id="search-results"'):]
    # Newest match's conversation first; each group has its title, each result its sender.
    assert results.index("book-club") < results.index(">Bob<")
    assert "<mark>cafe</mark> meeting at noon" in results
    assert "The <mark>Café</mark> &lt;script&gt;x()&lt;/script&gt; is open" in results
    assert "<script>x()" not in page
    assert "unrelated" not in results
    link = re.search(r'href="([^"]+)"[^>]*>\s*<span class="search-result__meta">Carol', results).group(1)
    assert link == f"/c/{book_club['id']}?before={in_club['seq'] + 26}#message-{in_club['id']}"
    # The link lands on the page of history that holds the message.
    assert f'id="message-{in_club["id"]}"' in text(web_as(alice).get(link.split("#")[0]))
    assert f"/c/{direct['id']}?before={in_direct['seq'] + 26}#message-{in_direct['id']}" in results


def test_filters_are_form_fields(web_as, alice, bob, carol, direct):
    other = conversations.create_group(alice["id"], "planning", [carol["id"]])
    messages.send_message(bob["id"], direct["id"], "budget from bob")
    messages.send_message(carol["id"], other["id"], "budget from carol")
    web = web_as(alice)
    page = text(web.get("/search?q="))
    for name in ("conversation_id", "from", "after", "before", "has"):
        assert f'name="{name}"' in page
    only_direct = results(web.get(f"/search?q=budget&conversation_id={direct['id']}&from=&has=&after=&before="))
    assert "</mark> from bob" in only_direct and "from carol" not in only_direct
    from_carol = results(web.get("/search?q=budget&from=carol"))
    assert "</mark> from carol" in from_carol and "from bob" not in from_carol
    assert "No messages match" in text(web.get("/search?q=budget&has=attachment"))


def test_bad_input_is_shown_on_the_form_with_a_422(web_as, alice):
    web = web_as(alice)
    response = web.get("/search?q=" + "x" * 201)
    assert response.status_code == 422
    assert 'data-field="q"' in text(response) and "the limit is 200" in text(response)
    response = web.get("/search?q=hi&after=someday")
    assert response.status_code == 422 and 'data-field="after"' in text(response)


def test_a_removed_member_finds_nothing_on_the_page(web_as, alice, bob, book_club):
    from chat.actions import members
    messages.send_message(alice["id"], book_club["id"], "secret chapter")
    assert "<mark>secret</mark> chapter" in results(web_as(bob).get("/search?q=secret"))
    members.remove_member(alice["id"], book_club["id"], bob["id"])
    page = results(web_as(bob).get("/search?q=secret"))
    assert "chapter" not in page and "No messages match" in page


def test_more_results_link_pages_on(web_as, alice, bob, direct):
    for i in range(23):
        messages.send_message(bob["id"], direct["id"], f"ping {i}")
    web = web_as(alice)
    first = results(web.get("/search?q=ping"))
    assert "</mark> 22<" in first and "</mark> 2<" not in first
    more = re.search(r'href="(/search\?[^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = results(web.get(more))
    assert "</mark> 2<" in second and "</mark> 0<" in second and "</mark> 22<" not in second


def test_signed_out_is_sent_to_sign_in(web):
    response = web.get("/search?q=x")
    assert response.status_code in (302, 303) and "/login" in response.location
