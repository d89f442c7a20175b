/* Reactions: the picker, and the chips under a message.
 *
 * The "React" link of a message (data-controller="reactions") opens a row of common emoji and a search box
 * over emojibase's names and keywords (static/vendor/emoji-*.json, fetched the first time someone searches);
 * Enter picks the first match, or the box's text when it is an emoji itself; arrow keys move between emoji.
 * Picking posts to the link's URL (the same route the plain form uses) and htmx swaps in the re-rendered
 * message. Without JavaScript the link opens that form as a page.
 *
 * A chip (data-controller="reaction-chip") is the same for every viewer: it lists who reacted in
 * data-user-ids; the page's style marks the viewer's own, and here aria-pressed says it too. Its title says
 * who reacted on hover; a long press on a touch screen shows the same names.
 */
(function () {
  "use strict";

  var COMMON = ["👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "👀"];
  var MAX_RESULTS = 24;
  var script = document.currentScript;
  var dataUrl = script && script.dataset.emojiData;
  var loading = null;

  function loadEmoji() {
    if (!loading) {
      loading = fetch(dataUrl, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (rows) {
          return rows.map(function (row) {
            return { emoji: row[0], name: row[1], words: (row[1] + " " + row[2]).toLowerCase().split(/[\s_:-]+/) };
          });
        })
        .catch(function () { loading = null; return []; });
    }
    return loading;
  }

  /* Every word of the query starts a word of the emoji's name or keywords; names that start with the query
   * first, then exact keywords, then the rest in emojibase's order. */
  function search(list, query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    var found = list.filter(function (item) {
      return words.every(function (w) { return item.words.some(function (k) { return k.indexOf(w) === 0; }); });
    });
    var q = words.join(" ");
    function rank(item) {
      if (item.name.indexOf(q) === 0) return 0;
      return item.words.indexOf(q) >= 0 ? 1 : 2;
    }
    return found.map(function (item, i) { return { item: item, rank: rank(item), i: i }; })
      .sort(function (a, b) { return a.rank - b.rank || a.i - b.i; })
      .slice(0, MAX_RESULTS).map(function (x) { return x.item; });
  }

  function button(url, emoji, name) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "reaction-picker__emoji";
    b.textContent = emoji;
    b.setAttribute("aria-label", "React with " + emoji + (name ? " (" + name + ")" : ""));
    if (name) b.title = name;
    b.setAttribute("hx-post", url);
    b.setAttribute("hx-vals", JSON.stringify({ emoji: emoji }));
    b.setAttribute("hx-target", "closest .msg");
    b.setAttribute("hx-swap", "outerHTML");
    return b;
  }

  function looksLikeEmoji(text) {
    return /\p{Extended_Pictographic}|\p{Regional_Indicator}/u.test(text) && !/[a-z]/i.test(text);
  }

  function picker(link) {
    var url = link.dataset.reactUrl;
    var box = document.createElement("div");
    box.className = "reaction-picker";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Pick a reaction");
    COMMON.forEach(function (emoji) { box.appendChild(button(url, emoji)); });
    var query = document.createElement("input");
    query.type = "search";
    query.className = "reaction-picker__search";
    query.maxLength = 32;
    query.placeholder = "Search emoji…";
    query.setAttribute("aria-label", "Search emoji by name, or type one");
    var results = document.createElement("div");
    results.className = "reaction-picker__results";
    results.setAttribute("role", "group");
    results.setAttribute("aria-label", "Matching emoji");
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    var asked = 0;

    function show() {
      var text = query.value.trim(), ask = ++asked;
      if (!text || looksLikeEmoji(text)) { results.replaceChildren(); status.textContent = ""; return; }
      loadEmoji().then(function (list) {
        if (ask !== asked) return;  // a later keystroke has its own answer
        var found = search(list, text);
        results.replaceChildren.apply(results, found.map(function (item) { return button(url, item.emoji, item.name); }));
        htmx.process(results);
        status.textContent = found.length ? found.length + " emoji found" : "No emoji matches “" + text + "”";
      });
    }

    query.addEventListener("input", show);
    query.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && results.firstChild) { event.preventDefault(); results.firstChild.focus(); return; }
      if (event.key !== "Enter" || !query.value.trim()) return;
      event.preventDefault();
      var text = query.value.trim();
      if (looksLikeEmoji(text)) {
        var b = button(url, text);
        b.hidden = true;
        box.appendChild(b);
        htmx.process(b);
        b.click();
        return;
      }
      show();
      loadEmoji().then(function () { if (results.firstChild) results.firstChild.click(); });
    });
    box.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target.tagName !== "BUTTON") return;
      var all = Array.prototype.slice.call(box.querySelectorAll("button:not([hidden])"));
      var i = all.indexOf(target), step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      var next = all[i + step];
      if (next) next.focus(); else if (step < 0) query.focus();
    });
    box.appendChild(query);
    box.appendChild(results);
    box.appendChild(status);
    return box;
  }

  Chat.controller("reactions", function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var open = link.parentNode.querySelector(".reaction-picker");
      if (open) { open.remove(); return; }
      var box = picker(link);
      link.parentNode.appendChild(box);
      htmx.process(box);
      box.querySelector("button").focus();
      box.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { box.remove(); link.focus(); }
      });
    });
  });

  /* A chip: mine or not (aria-pressed), and who reacted on a long press (touch screens have no hover). */
  Chat.controller("reaction-chip", function (chip) {
    var me = document.body.dataset.userId;
    var ids = (chip.dataset.userIds || "").split(/\s+/);
    chip.setAttribute("aria-pressed", me && ids.indexOf(me) >= 0 ? "true" : "false");
    var timer = null, pressed = false;
    chip.addEventListener("pointerdown", function (event) {
      if (event.pointerType !== "touch") return;
      pressed = false;
      timer = setTimeout(function () { pressed = true; showWho(chip); }, 500);
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      chip.addEventListener(name, function () { clearTimeout(timer); });
    });
    chip.addEventListener("contextmenu", function (event) { if (pressed) event.preventDefault(); });
    chip.addEventListener("click", function (event) {
      if (!pressed) return;  // a long press shows the names; it does not toggle the reaction
      pressed = false;
      event.preventDefault();
      event.stopImmediatePropagation();
    }, true);
  });

  function showWho(chip) {
    var list = chip.closest(".msg__reactions");
    var old = list.querySelector(".reaction-who");
    if (old) old.remove();
    var who = document.createElement("li");
    who.className = "reaction-who";
    who.setAttribute("role", "status");
    who.textContent = chip.title;
    list.appendChild(who);
    setTimeout(function () { who.remove(); }, 4000);
  }
})();
