/* An open conversation (<section class="chat" data-controller="messages">): live messages put in place by
 * their stable id (never twice), day separators and runs in the reader's time zone, "Seen", "… is typing",
 * marking read, and a quiet catch-up after a reconnect. Its URLs come from the element's data attributes.
 *
 * Other modules talk to it with DOM events on its element: "chat:upsert" (detail.html; it answers in
 * detail.element) from the composer, "chat:changed" from the history when older messages came in.
 */
(function () {
  "use strict";

  var Chat = window.Chat;
  var FIVE_MINUTES = 5 * 60 * 1000;

  function messagesIn(list) { return list.querySelectorAll(":scope > .msg"); }
  function lastSeq(list) {
    var seqs = list.querySelectorAll(":scope > .msg[data-seq]");
    return seqs.length ? parseInt(seqs[seqs.length - 1].dataset.seq, 10) : 0;
  }
  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
  function toBottom(list) { list.scrollTop = list.scrollHeight; }
  function json(el, key) { try { return JSON.parse(el.dataset[key] || "{}"); } catch (e) { return {}; } }

  /* Which of two renderings of one message is newer: deleted beats edited beats original. */
  function version(el) {
    if (el.classList.contains("msg--deleted")) return "z";
    return el.dataset.editedAt || "";
  }

  function dayLabel(date) {
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return "Today";
    if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
    var options = { weekday: "long", month: "long", day: "numeric" };
    if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
    return date.toLocaleDateString([], options);
  }

  Chat.controller("messages", function (chat) {
    var list = chat.querySelector(".messages");
    var conversationId = chat.dataset.conversationId;
    var typists = {};
    var readTimer = null;
    var readPosted = null;  // the read mark on its way to the server, if any

    /* Put a rendered message where it belongs: replace the same id (a replay), or the pending bubble with
     * the same client id, or insert by seq. Returns the element in the page, or null when not on screen. */
    function upsert(html) {
      var el = Chat.parse(html).querySelector("li.msg");
      if (!el || el.dataset.conversationId !== conversationId) return null;
      var existing = document.getElementById(el.id);
      if (existing && list.contains(existing)) {
        var editing = existing.classList.contains("msg--editing") && !el.classList.contains("msg--deleted");
        if (editing || version(el) < version(existing)) return existing;
        existing.replaceWith(el);
        return settle(el, false);
      }
      var pending = el.dataset.clientId &&
        list.querySelector('[data-pending-client-id="' + CSS.escape(el.dataset.clientId) + '"]');
      if (pending) {
        pending.replaceWith(el);
        return settle(el, false);
      }
      if (chat.dataset.history) {  // an older page is on screen: the newest is not
        if (el.dataset.senderId && el.dataset.senderId !== Chat.me() && !el.dataset.editedAt &&
            parseInt(el.dataset.seq, 10) > parseInt(chat.dataset.newestSeen || "0", 10)) {
          chat.dataset.newestSeen = el.dataset.seq;
          arrivedBelow(1);
        }
        return null;
      }
      var seq = parseInt(el.dataset.seq, 10);
      var stick = nearBottom(list) || el.dataset.senderId === Chat.me();
      var before = null;
      messagesIn(list).forEach(function (m) {
        if (!before && (!m.dataset.seq || parseInt(m.dataset.seq, 10) > seq)) before = m;
      });
      list.insertBefore(el, before);
      var empty = list.querySelector(".history-empty");
      if (empty) empty.remove();
      settle(el, true);
      if (stick) toBottom(list); else if (el.dataset.senderId !== Chat.me()) arrivedBelow(1);
      return el;
    }

    function settle(el, isNew) {
      htmx.process(el);
      Chat.connect(el);
      Chat.formatTimes(el);
      noteRead(el.dataset.senderId, parseInt(el.dataset.seq, 10));
      layout();
      if (isNew && el.dataset.senderId !== Chat.me()) {
        var sender = el.querySelector(".msg__sender");
        var body = el.querySelector(".msg__body");
        Chat.announce((sender ? sender.textContent : "New message") + ": " +
                      (body ? body.textContent.slice(0, 140) : "attachment"));
        typingStopped(el.dataset.senderId);
        markReadSoon();
      }
      return el;
    }

    /* "Jump to latest (N new)": messages that arrived below while the reader was scrolled up. */
    var jump = chat.querySelector("[data-jump-latest]");
    var below = 0;
    function arrivedBelow(count) {
      if (!jump) return;
      below += count;
      jump.textContent = "Jump to latest (" + below + " new)";
      jump.hidden = false;
    }
    function caughtUp() {
      below = 0;
      if (jump) jump.hidden = true;
    }
    if (jump) {
      jump.addEventListener("click", function () {
        if (chat.dataset.history) { window.location.assign(chat.dataset.latestUrl); return; }
        toBottom(list);
        caughtUp();
      });
      list.addEventListener("scroll", function () { if (!chat.dataset.history && nearBottom(list)) caughtUp(); });
    }

    /* Day separators in the reader's time zone, runs of messages from one sender, and the read receipt. */
    function layout() {
      list.querySelectorAll(":scope > .day-sep, :scope > .receipt").forEach(function (n) { n.remove(); });
      var prev = null;
      messagesIn(list).forEach(function (m) {
        var date = new Date(m.dataset.createdAt);
        var prevDate = prev && new Date(prev.dataset.createdAt);
        if (!prev || prevDate.toDateString() !== date.toDateString()) {
          var sep = document.createElement("li");
          sep.className = "day-sep";
          var label = document.createElement("span");
          label.textContent = dayLabel(date);
          sep.appendChild(label);
          list.insertBefore(sep, m);
          prev = null;
        }
        var run = prev && prev.dataset.senderId === m.dataset.senderId && date - prevDate < FIVE_MINUTES &&
          !m.classList.contains("msg--system");
        m.classList.toggle("msg--cont", !!run);
        m.classList.remove("msg--quiet");  // the time shows on the last message of a run
        if (run) prev.classList.add("msg--quiet");
        prev = m;
      });
      receipt();
    }

    function receipt() {
      list.querySelectorAll(":scope > .receipt").forEach(function (n) { n.remove(); });
      var me = Chat.me();
      var mine = list.querySelectorAll(':scope > .msg[data-seq][data-sender-id="' + me + '"]:not(.msg--deleted)');
      var last = mine[mine.length - 1];
      if (!last || chat.dataset.history) return;
      var seq = parseInt(last.dataset.seq, 10);
      var reads = json(chat, "reads");
      var joined = json(chat, "joined");
      var sentAt = Date.parse(last.dataset.createdAt || "") || Infinity;
      // Only people who were members when it was sent: someone added later has not "seen" it.
      var others = Object.keys(reads).filter(function (id) {
        return id !== me && !(Date.parse(joined[id] || "") > sentAt);
      });
      var seen = others.filter(function (id) { return reads[id] >= seq; }).length;
      var text = chat.dataset.kind === "direct" ? (seen ? "Seen" : "Sent")
        : (seen === 0 ? "Sent" : seen === others.length ? "Seen by everyone" : "Seen by " + seen);
      var li = document.createElement("li");
      li.className = "receipt";
      li.dataset.receipt = "";
      li.textContent = text;
      last.after(li);
    }

    function noteRead(userId, seq) {
      if (!userId || !seq) return;
      var reads = json(chat, "reads");
      if ((reads[userId] || 0) >= seq) return;
      if (!(userId in reads)) {  // a member added since the page loaded: they joined just now
        var joined = json(chat, "joined");
        joined[userId] = new Date().toISOString();
        chat.dataset.joined = JSON.stringify(joined);
      }
      reads[userId] = seq;
      chat.dataset.reads = JSON.stringify(reads);
    }

    /* Opening a conversation marks it read (posted once it is shown; the page's GET changes nothing); new
     * arrivals are read while the tab is visible. */
    function markReadSoon() {
      if (document.visibilityState !== "visible" || chat.dataset.history || chat.dataset.unreadFrom) return;
      clearTimeout(readTimer);
      readTimer = setTimeout(markRead, 250);
    }
    function markRead() {
      var seq = lastSeq(list);
      if (!seq || parseInt(chat.dataset.readUpTo || "0", 10) >= seq) return;
      chat.dataset.readUpTo = String(seq);
      var rows = document.getElementById("conversation-list");
      if (rows) rows.dispatchEvent(new CustomEvent("list:read", { detail: { conversationId: conversationId } }));
      var body = new URLSearchParams({ seq: String(seq) });
      var posted = readPosted = Chat.post(chat.dataset.readUrl, body)
        .catch(function () { chat.dataset.readUpTo = "0"; })
        .finally(function () { if (readPosted === posted) readPosted = null; });
    }
    function onVisible() {
      if (!chat.isConnected) { document.removeEventListener("visibilitychange", onVisible); return; }
      if (document.visibilityState === "visible") markReadSoon();
    }
    document.addEventListener("visibilitychange", onVisible);

    /* "Mark unread" (a message's menu): the divider moves above that message, and this open chat stops
     * marking itself read until it is opened again (the stream brings the list's new count). It stops from
     * the click, since the stream's new count can arrive before the response, and the request waits for a
     * read mark still on its way, which would otherwise land after it and read everything again. */
    var unreadBefore;
    chat.addEventListener("htmx:confirm", function (event) {
      var link = event.detail.elt;
      if (!link.matches || !link.matches("[data-mark-unread]")) return;
      unreadBefore = chat.dataset.unreadFrom;
      chat.dataset.unreadFrom = link.closest(".msg").dataset.seq;
      clearTimeout(readTimer);
      if (!readPosted) return;
      event.preventDefault();
      readPosted.then(function () { event.detail.issueRequest(true); });
    });
    chat.addEventListener("htmx:afterRequest", function (event) {
      var link = event.detail.elt;
      if (!link.matches || !link.matches("[data-mark-unread]")) return;
      if (!event.detail.successful) {
        if (unreadBefore === undefined) delete chat.dataset.unreadFrom;
        else chat.dataset.unreadFrom = unreadBefore;
        return;
      }
      var message = link.closest(".msg");
      chat.dataset.unreadFrom = message.dataset.seq;
      chat.dataset.readUpTo = String(parseInt(message.dataset.seq, 10) - 1);
      var divider = list.querySelector(":scope > .unread-divider");
      if (!divider) {
        divider = document.createElement("li");
        divider.className = "unread-divider";
        divider.id = "unread-divider";
        divider.innerHTML = "<span>New messages</span>";
      }
      list.insertBefore(divider, message);
      layout();
    });

    /* "… is typing" */
    function showTyping() {
      var line = chat.querySelector("[data-typing]");
      var names = json(chat, "names");
      var who = Object.keys(typists).map(function (id) { return names[id] || "Someone"; });
      line.hidden = who.length === 0;
      line.textContent = who.length === 1 ? who[0] + " is typing…"
        : who.length === 2 ? who[0] + " and " + who[1] + " are typing…" : who.length + " people are typing…";
    }
    function typingStopped(userId) {
      if (!typists[userId]) return;
      clearTimeout(typists[userId]);
      delete typists[userId];
      showTyping();
    }

    /* Quiet catch-up: what this conversation gained while the stream was away. */
    function catchUp() {
      if (!chat.dataset.history) fetchAfter(lastSeq(list), 0);
    }
    function fetchAfter(seq, round) {
      if (round > 20 || !chat.isConnected) return;
      var url = chat.dataset.afterUrl + "?limit=100&after=" + seq;
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) return;
          var fragment = Chat.parse(html);
          fragment.querySelectorAll("li.msg").forEach(function (m) { upsert(m.outerHTML); });
          var more = fragment.querySelector("[data-more-after]");
          if (more) fetchAfter(parseInt(more.dataset.moreAfter, 10), round + 1);
        })
        .catch(function () {});
    }

    chat.addEventListener("live:message", function (event) { upsert(event.detail); });
    chat.addEventListener("live:typing", function (event) {
      var payload = JSON.parse(event.detail);
      if (payload.conversation_id !== conversationId || payload.user_id === Chat.me()) return;
      clearTimeout(typists[payload.user_id]);
      typists[payload.user_id] = setTimeout(function () { typingStopped(payload.user_id); },
                                            (payload.expires_in || 6) * 1000);
      showTyping();
    });
    chat.addEventListener("live:read", function (event) {
      var payload = JSON.parse(event.detail);
      if (payload.conversation_id !== conversationId) return;
      noteRead(payload.user_id, payload.seq);
      receipt();
    });
    chat.addEventListener("live:connected", catchUp);
    chat.addEventListener("live:reset", catchUp);
    chat.addEventListener("chat:upsert", function (event) { event.detail.element = upsert(event.detail.html); });
    chat.addEventListener("chat:changed", layout);
    /* Edits and deletions come back as the message partial (or the edit form, which keeps the same id). */
    chat.addEventListener("htmx:afterSwap", function (event) {
      var el = event.target;
      var replaced = event.detail && event.detail.target;
      if (!el.classList || !el.classList.contains("msg") || !replaced || !replaced.classList.contains("msg")) return;
      if (!list.dataset.anchor) layout();
      var input = el.querySelector("[data-edit-input]");
      if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
    });

    /* The edit form: Enter saves, Escape puts the message back. */
    chat.addEventListener("keydown", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches("[data-edit-input]")) return;
      if (event.key === "Escape") {
        var cancel = input.form.querySelector("[data-edit-cancel]");
        if (cancel) cancel.click();
      } else if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey &&
                 !event.isComposing) {
        event.preventDefault();
        input.form.requestSubmit();
      }
    });

    layout();
    var hash = window.location.hash && document.getElementById(window.location.hash.slice(1));
    var divider = list.querySelector(":scope > .unread-divider");
    if (hash && list.contains(hash)) hash.scrollIntoView({ block: "center" });
    else if (divider) list.scrollTop = Math.max(0, divider.offsetTop - list.offsetTop - 16);  // "New messages" at the top
    else toBottom(list);
    list.dataset.stuck = nearBottom(list) ? "1" : "";
    if (!chat.dataset.history && document.visibilityState === "visible") markRead();  // the GET marks nothing
    var rows = document.getElementById("conversation-list");
    if (rows) rows.dispatchEvent(new CustomEvent("chat:opened"));
  });
})();
