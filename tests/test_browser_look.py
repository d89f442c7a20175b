"""The look, in Chromium: light and dark at 1280, 768 and 390 px, with axe-core (vendored, tests/vendor/) on the
main pages; the profile card and its chat panel as one unit; the calmer timeline; keyboard; the theme choice;
one "New chat" that finds people; group members picked by name."""
import re
from pathlib import Path

import pytest

from .browser_support import PASSWORD, api, sign_in, wait_for_stream
from .look_support import seed_showcase

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
WIDTHS = {"1280": {"width": 1280, "height": 800}, "768": {"width": 768, "height": 1024},
          "390": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def showcase(server):
    return seed_showcase(server)


def axe_problems(page):
    """axe-core's violations of serious or critical impact on the page as it stands, as readable lines."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' +
                    v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')
                      .replace(/\\s+/g, ' ')).join(' | '));
    }""")
    return result


def overflow(page):
    """How many pixels the page is wider than the window (0 is right)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def settle(page):
    page.mouse.move(1, 1)
    page.evaluate("() => document.fonts.ready")
    page.evaluate("() => Promise.all(Array.from(document.images).filter(i => !i.complete)"
                  ".map(i => new Promise(r => { i.onload = i.onerror = r; })))")
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")


def check(page, where, problems):
    settle(page)
    extra = overflow(page)
    if extra > 0:
        problems.append(f"{where}: the page is {extra}px wider than the window")
    problems.extend(f"{where}: {line}" for line in axe_problems(page))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_main_pages_pass_axe_without_overflow(server, showcase, new_page, width, theme):
    """Landing, sign in (with errors), the conversation list, a conversation, the profile card and its panel,
    search, new chat and settings: no serious or critical axe-core violation and no horizontal overflow, in
    the theme the system asks for (prefers-color-scheme)."""
    people, group, direct = showcase
    viewport = WIDTHS[width]
    problems = []
    out = new_page(viewport=viewport, color_scheme=theme, bypass_csp=True)
    out.goto(server.url + "/")
    check(out, "landing", problems)
    out.goto(server.url + "/login")
    out.get_by_role("button", name="Sign in").click()
    out.locator(".field__error").first.wait_for()
    check(out, "sign in with errors", problems)

    page = new_page(viewport=viewport, color_scheme=theme, bypass_csp=True)
    expected = "rgb(15, 17, 21)" if theme == "dark" else "rgb(244, 245, 247)"
    sign_in(page, server, people["maya"])
    wait_for_stream(page)
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == expected
    check(page, "conversation list", problems)
    page.goto(server.url + f"/c/{group['id']}")
    page.locator(".msg__tombstone").wait_for()
    check(page, "a conversation", problems)
    page.goto(server.url + f"/c/{direct['id']}")
    page.get_by_label("Message", exact=True).fill("Draft, not sent")
    check(page, "a direct conversation", problems)
    page.goto(server.url + "/u/noah")
    check(page, "profile card", problems)
    page.get_by_role("button", name="Message").click()
    page.locator(".side-panel.is-open .msg").first.wait_for()
    check(page, "profile card and panel", problems)
    for path, name in [("/search?q=Thursday", "search"), ("/new?q=i", "new chat"),
                       ("/settings/appearance", "appearance settings"), ("/settings/account", "account settings"),
                       (f"/c/{group['id']}/settings", "group settings"), ("/groups/new", "new group"),
                       ("/people", "people"), ("/no/such/page", "an error page")]:
        page.goto(server.url + path)
        check(page, name, problems)
    assert not problems, "\n".join(problems)


def box(page, selector):
    return page.locator(selector).bounding_box()


def test_the_panel_slides_in_beside_the_card_at_1280(server, showcase, new_page):
    """The card keeps its place; the panel stands beside it with at least 400 px; Esc closes it again."""
    people, _, _ = showcase
    page = new_page(viewport=WIDTHS["1280"])
    sign_in(page, server, people["maya"])
    page.goto(server.url + "/u/noah")
    wait_for_stream(page)
    settle(page)
    card_before = box(page, ".profile-card")
    page.get_by_role("button", name="Message").click()
    page.locator(".side-panel.is-open textarea").wait_for()
    settle(page)
    card, panel, main = box(page, ".profile-card"), box(page, ".side-panel"), box(page, "#main")
    assert card == card_before  # the card kept its place
    assert panel["width"] >= 400, panel
    assert panel["x"] >= card["x"] + card["width"]  # beside the card, to its right
    assert panel["x"] - (card["x"] + card["width"]) <= 24  # as one unit: no gulf between them
    assert main["x"] + main["width"] - (panel["x"] + panel["width"]) <= 24  # and nothing empty beyond it
    assert panel["height"] >= 0.8 * main["height"]
    page.keyboard.press("Escape")
    page.locator(".side-panel.is-open").wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.matches('[data-message-button]')")
    assert box(page, ".profile-card") == card_before


def test_the_card_and_panel_stack_at_768(server, showcase, new_page):
    people, _, _ = showcase
    page = new_page(viewport=WIDTHS["768"])
    sign_in(page, server, people["maya"])
    page.goto(server.url + "/u/noah")
    page.get_by_role("button", name="Message").click()
    page.locator(".side-panel.is-open textarea").wait_for()
    settle(page)
    card, panel, main = box(page, ".profile-card"), box(page, ".side-panel"), box(page, "#main")
    assert card["height"] <= 80  # folded into a strip
    assert panel["y"] >= card["y"] + card["height"] - 1  # below it
    assert panel["width"] >= main["width"] - 2
    assert overflow(page) <= 0


def test_on_a_phone_the_panel_and_a_conversation_are_the_whole_screen(server, showcase, new_page):
    people, group, _ = showcase
    page = new_page(viewport=WIDTHS["390"])
    sign_in(page, server, people["maya"])
    page.goto(server.url + "/u/noah")
    page.get_by_role("button", name="Message").click()
    page.locator(".side-panel.is-open textarea").wait_for()
    settle(page)
    panel = box(page, ".side-panel")
    assert panel["x"] == 0 and panel["width"] == 390 and panel["y"] == 0
    back = page.locator(".side-panel").get_by_role("button", name="Back to the profile")
    assert back.is_visible()
    back.click()
    page.locator(".side-panel.is-open").wait_for(state="detached")
    page.goto(server.url + f"/c/{group['id']}")
    page.locator(".chat__header").wait_for()
    assert page.locator(".topbar").is_hidden()  # no app bar inside a conversation
    assert page.get_by_role("link", name="Back to chats").is_visible()
    assert box(page, ".chat__header")["y"] == 0


def test_times_show_once_per_run_and_live_messages_join_their_run(server, showcase, new_page):
    """In maya's chat with noah, noah's three messages in a row show one time (the last); hovering shows the
    others. A message noah sends while maya looks joins the run and the day separator stays one."""
    people, _, direct = showcase
    page = new_page(viewport=WIDTHS["1280"])
    sign_in(page, server, people["maya"])
    page.goto(server.url + f"/c/{direct['id']}")
    wait_for_stream(page)
    noahs = page.locator(f'.msg[data-sender-id="{people["noah"]["id"]}"]')
    visible = "el => getComputedStyle(el.querySelector('.msg__time')).display === 'none' ? 'hidden' : 'visible'"
    states = [noahs.nth(i).evaluate(visible) for i in range(noahs.count())]
    assert states == ["visible", "hidden", "hidden", "visible"], states
    noahs.nth(1).hover()
    assert noahs.nth(1).evaluate(visible) == "visible"
    page.mouse.move(1, 1)
    assert page.locator(".day-sep").count() == 1 and page.locator(".day-sep").inner_text() == "Today"

    noah = api(server, people["noah"])
    for text in ("One more thing", "And another"):
        noah.post(server.url + f"/api/v1/conversations/{direct['id']}/messages", json={"body": text})
    page.locator(".msg", has_text="And another").wait_for()
    first, second = (page.locator(".msg", has_text=text) for text in ("One more thing", "And another"))
    assert second.evaluate("el => el.classList.contains('msg--cont')")
    assert [first.evaluate(visible), second.evaluate(visible)] == ["hidden", "visible"]
    assert page.locator(".day-sep").count() == 1  # live messages of today join today's separator
    # the PDF in the group has a real icon, by type
    page.goto(server.url + f"/c/{showcase[1]['id']}")
    assert page.locator(".attachment--file svg.attachment__icon--pdf").count() == 1
    assert page.locator(".attachment--file text").text_content() == "PDF"


def test_keyboard_up_edits_escape_cancels_ctrl_k_jumps(server, showcase, new_page):
    people, group, direct = showcase
    page = new_page(viewport=WIDTHS["1280"])
    sign_in(page, server, people["maya"])
    page.goto(server.url + f"/c/{direct['id']}")
    wait_for_stream(page)
    composer = page.get_by_label("Message", exact=True)
    composer.focus()
    page.keyboard.press("ArrowUp")
    edit = page.locator("[data-edit-input]")
    edit.wait_for()
    assert edit.input_value() == "Wouldn't miss it. Could you bring the projector?"
    assert page.evaluate("() => document.activeElement.matches('[data-edit-input]')")
    # A person reads the form before pressing Escape: let htmx finish swapping it in (its Cancel link is
    # wired up then) — a busy machine could otherwise press Escape mid-swap.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.keyboard.press("Escape")
    edit.wait_for(state="detached")

    page.keyboard.press("Control+k")
    switcher = page.get_by_role("combobox", name="Jump to a conversation")
    switcher.wait_for()
    switcher.fill("book")
    assert page.locator(".switcher__option").all_inner_texts() == ["Book club"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/c/{group['id']}$"))

    page.keyboard.press("Tab")  # the skip link comes first, and focus is visible
    assert page.evaluate("() => document.activeElement.matches('.skip-link')")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_the_theme_choice_is_a_form_that_works_without_javascript(server, showcase, new_page):
    page = new_page(viewport=WIDTHS["1280"], color_scheme="light", java_script_enabled=False)
    page.goto(server.url + "/login")
    page.get_by_label("Email or username").fill("maya")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(server.url + "/")
    page.get_by_role("link", name="Appearance").click()
    page.get_by_label("Dark", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert page.locator("html[data-theme=dark]").count() == 1
    page.goto(server.url + "/")
    assert page.locator("html[data-theme=dark]").count() == 1
    page.goto(server.url + "/settings/appearance")
    page.get_by_label("System", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert page.locator("html[data-theme]").count() == 0


def test_dark_choice_beats_a_light_system_with_javascript(server, showcase, new_page):
    people, _, _ = showcase
    page = new_page(viewport=WIDTHS["1280"], color_scheme="light")
    sign_in(page, server, people["maya"])
    page.goto(server.url + "/settings/appearance")
    page.get_by_label("Dark", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(15, 17, 21)"


def test_new_chat_finds_people_as_you_type_and_groups_pick_members(server, showcase, new_page):
    people, group, _ = showcase
    page = new_page(viewport=WIDTHS["1280"])
    sign_in(page, server, people["iris"])
    wait_for_stream(page)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="New chat").count() == 1
    assert page.get_by_role("link", name="New group").count() == 0  # one way in: New chat
    nav.get_by_role("link", name="New chat").click()
    page.wait_for_url(re.compile(r"/new$"))
    page.wait_for_load_state()  # htmx must be listening before the typing starts
    page.get_by_label("Find people by name or username").press_sequentially("leo")
    page.locator("#new-chat-results .pick-row", has_text="Leo Moreau").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#new-chat-results .pick-row').length === 1")
    page.get_by_role("button", name="Message Leo Moreau").click()
    page.wait_for_url(re.compile(r"/c/"))
    assert page.locator(".chat__title h1").inner_text() == "Leo Moreau"

    page.goto(server.url + "/new")
    page.get_by_role("link", name=re.compile("New group")).click()
    page.wait_for_url(re.compile(r"/groups/new"))
    page.wait_for_load_state()
    page.get_by_label("Group name").fill("Climbers")
    picker = page.get_by_label("Find people to add")
    picker.press_sequentially("noa")
    page.get_by_role("button", name="Add Noah Park").click()
    picker.fill("")
    picker.press_sequentially("Maya")
    page.get_by_role("button", name="Add Maya Lin").click()
    assert page.get_by_label(re.compile("^Add people")).input_value() == "noah, maya"
    page.get_by_role("button", name="Create group").click()
    page.wait_for_url(re.compile(r"/c/"))
    assert page.locator(".chat__subtitle").inner_text() == "3 members"

    owner = new_page(viewport=WIDTHS["1280"])
    sign_in(owner, server, people["maya"])
    owner.goto(server.url + f"/c/{group['id']}/settings")
    owner.wait_for_load_state()
    owner.get_by_label("Add someone").press_sequentially("Wat")  # part of a name, not the username
    owner.get_by_role("button", name="Remove Iris Watanabe").wait_for()
    owner.get_by_role("button", name="Remove Iris Watanabe").click()
    owner.get_by_text("Removed Iris Watanabe.", exact=True).wait_for()
    owner.wait_for_load_state()
    owner.get_by_label("Add someone").press_sequentially("Wat")
    owner.get_by_role("button", name="Add Iris Watanabe").click()
    owner.get_by_text("Added Iris Watanabe.", exact=True).wait_for()
