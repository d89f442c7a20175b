/* An open conversation: live messages (by stable id, never twice), day separators, "load older" with the
 * scroll position kept, "Seen", "… is typing", marking read, the sliding chat panel, and quiet catch-up. */
(function () {
  "use strict";

  var Chat = window.Chat;
  var FIVE_MINUTES = 5 * 60 * 1000;

  function lists() { return document.querySelectorAll(".chat .messages"); }
  function listFor(conversationId) { return document.getElementById("messages-" + conversationId); }
  function chatOf(list) { return list.closest(".chat"); }
  function messagesIn(list) { return list.querySelectorAll(":scope > .msg"); }
  function lastSeq(list) {
    var seqs = list.querySelectorAll(":scope > .msg[data-seq]");
    return seqs.length ? parseInt(seqs[seqs.length - 1].dataset.seq, 10) : 0;
  }
  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
  function toBottom(list) { list.scrollTop = list.scrollHeight; }
  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }
  function json(el, key) { try { return JSON.parse(el.dataset[key] || "{}"); } catch (e) { return {}; } }

  /* Which of two renderings of one message is newer: deleted beats edited beats original. */
  function version(el) {
    if (el.classList.contains("msg--deleted")) return "z";
    return el.dataset.editedAt || "";
  }

  /* Put a rendered message where it belongs: replace the same id (a replay), or the pending bubble with the
   * same client id, or insert by seq. Returns the element in the page, or null when it is not on screen. */
  Chat.upsertMessage = function (html) {
    var el = parse(html).querySelector("li.msg");
    if (!el) return null;
    var existing = document.getElementById(el.id);
    var list = listFor(el.dataset.conversationId);
    if (existing) {
      var editing = existing.classList.contains("msg--editing") && !el.classList.contains("msg--deleted");
      if (editing || version(el) < version(existing)) return existing;
      existing.replaceWith(el);
      return settle(el, list, false);
    }
    if (!list) return null;
    var pending = el.dataset.clientId &&
      list.querySelector('[data-pending-client-id="' + CSS.escape(el.dataset.clientId) + '"]');
    if (pending) {
      pending.replaceWith(el);
      return settle(el, list, false);
    }
    if (chatOf(list).dataset.history) return null;  // an older page is on screen: the newest is not
    var seq = parseInt(el.dataset.seq, 10);
    var stick = nearBottom(list) || el.dataset.senderId === Chat.me();
    var before = null;
    messagesIn(list).forEach(function (m) {
      if (!before && (!m.dataset.seq || parseInt(m.dataset.seq, 10) > seq)) before = m;
    });
    list.insertBefore(el, before);
    var empty = list.querySelector(".history-empty");
    if (empty) empty.remove();
    settle(el, list, true);
    if (stick) toBottom(list);
    return el;
  };

  function settle(el, list, isNew) {
    htmx.process(el);
    Chat.formatTimes(el);
    if (!list) return el;
    noteRead(list, el.dataset.senderId, parseInt(el.dataset.seq, 10));
    layout(list);
    if (isNew && el.dataset.senderId !== Chat.me()) {
      var sender = el.querySelector(".msg__sender");
      var body = el.querySelector(".msg__body");
      Chat.announce((sender ? sender.textContent : "New message") + ": " + (body ? body.textContent.slice(0, 140) : "attachment"));
      Chat.typingStopped(list, el.dataset.senderId);
      markReadSoon(list);
    }
    return el;
  }

  /* Day separators in the reader's time zone, runs of messages from one sender, and the read receipt. */
  function dayLabel(date) {
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return "Today";
    if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
    var options = { weekday: "long", month: "long", day: "numeric" };
    if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
    return date.toLocaleDateString([], options);
  }

  function layout(list) {
    list.querySelectorAll(":scope > .day-sep, :scope > .receipt").forEach(function (n) { n.remove(); });
    var prev = null;
    messagesIn(list).forEach(function (m) {
      var date = new Date(m.dataset.createdAt);
      var prevDate = prev && new Date(prev.dataset.createdAt);
      if (!prev || prevDate.toDateString() !== date.toDateString()) {
        var sep = document.createElement("li");
        sep.className = "day-sep";
        sep.setAttribute("role", "separator");
        var label = document.createElement("span");
        label.textContent = dayLabel(date);
        sep.appendChild(label);
        list.insertBefore(sep, m);
        prev = null;
      }
      var run = prev && prev.dataset.senderId === m.dataset.senderId && date - prevDate < FIVE_MINUTES &&
        !m.classList.contains("msg--system");
      m.classList.toggle("msg--cont", !!run);
      prev = m;
    });
    receipt(list);
  }
  Chat.layout = layout;

  function receipt(list) {
    var chat = chatOf(list);
    var me = Chat.me();
    var mine = list.querySelectorAll(':scope > .msg[data-seq][data-sender-id="' + me + '"]:not(.msg--deleted)');
    var last = mine[mine.length - 1];
    if (!last || chat.dataset.history) return;
    var seq = parseInt(last.dataset.seq, 10);
    var reads = json(chat, "reads");
    var others = Object.keys(reads).filter(function (id) { return id !== me; });
    var seen = others.filter(function (id) { return reads[id] >= seq; }).length;
    var text = chat.dataset.kind === "direct" ? (seen ? "Seen" : "Sent")
      : (seen === 0 ? "Sent" : seen === others.length ? "Seen by everyone" : "Seen by " + seen);
    var li = document.createElement("li");
    li.className = "receipt";
    li.dataset.receipt = "";
    li.textContent = text;
    last.after(li);
  }

  function noteRead(list, userId, seq) {
    if (!userId || !seq) return;
    var chat = chatOf(list);
    var reads = json(chat, "reads");
    if ((reads[userId] || 0) >= seq) return;
    reads[userId] = seq;
    chat.dataset.reads = JSON.stringify(reads);
  }

  /* Whether a conversation is on screen with its newest messages, so what arrives is read at once. */
  Chat.isReading = function (conversationId) {
    var list = listFor(conversationId);
    if (!list || document.visibilityState !== "visible" || chatOf(list).dataset.history) return false;
    markReadSoon(list);
    return true;
  };

  /* Opening a conversation marks it read (posted once it is shown; the page's GET changes nothing); new
   * arrivals are read while the tab is visible. */
  var readTimers = new WeakMap();
  function markReadSoon(list) {
    if (document.visibilityState !== "visible" || chatOf(list).dataset.history) return;
    clearTimeout(readTimers.get(list));
    readTimers.set(list, setTimeout(function () { markRead(list); }, 250));
  }
  function markRead(list) {
    var seq = lastSeq(list);
    var chat = chatOf(list);
    if (!seq || parseInt(chat.dataset.readUpTo || "0", 10) >= seq) return;
    chat.dataset.readUpTo = String(seq);
    var id = list.dataset.conversationId;
    Chat.setUnread(id, 0);
    fetch("/c/" + id + "/read", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": Chat.csrf(), "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true" },
      body: "seq=" + seq
    }).catch(function () { chat.dataset.readUpTo = "0"; });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") lists().forEach(markReadSoon);
  });

  /* "… is typing" */
  var typists = new WeakMap();
  function showTyping(list) {
    var chat = chatOf(list);
    var line = chat.querySelector("[data-typing]");
    var names = json(chat, "names");
    var who = Object.keys(typists.get(list) || {}).map(function (id) { return names[id] || "Someone"; });
    line.hidden = who.length === 0;
    line.textContent = who.length === 1 ? who[0] + " is typing…"
      : who.length === 2 ? who[0] + " and " + who[1] + " are typing…" : who.length + " people are typing…";
  }
  Chat.typingStopped = function (list, userId) {
    var current = typists.get(list) || {};
    if (!current[userId]) return;
    clearTimeout(current[userId]);
    delete current[userId];
    showTyping(list);
  };
  Chat.live.typing = function (data) {
    var payload = JSON.parse(data);
    var list = listFor(payload.conversation_id);
    if (!list || payload.user_id === Chat.me()) return;
    var current = typists.get(list) || {};
    clearTimeout(current[payload.user_id]);
    var expires = (payload.expires_in || 6) * 1000;
    current[payload.user_id] = setTimeout(function () { Chat.typingStopped(list, payload.user_id); }, expires);
    typists.set(list, current);
    showTyping(list);
  };

  /* Stream handlers */
  var rowSeen = {};
  Chat.live.message = function (html) {
    var el = Chat.upsertMessage(html);
    var probe = el || parse(html).querySelector("li.msg");
    if (!probe) return;
    var id = probe.dataset.conversationId;
    var since = Date.now();
    // The stream normally follows a message with the row update; if it does not, fetch the row.
    setTimeout(function () { if (!(rowSeen[id] >= since)) Chat.refreshRow(id); }, 600);
  };
  Chat.live.conversationSwapped = function (html) {
    var match = /data-conversation-id="([^"]+)"/.exec(html);
    if (match) { rowSeen[match[1]] = Date.now(); Chat.cancelRowRefresh(match[1]); }
  };
  Chat.live.read = function (data) {
    var payload = JSON.parse(data);
    var list = listFor(payload.conversation_id);
    if (list) { noteRead(list, payload.user_id, payload.seq); receipt(clearReceipt(list)); }
    if (payload.user_id === Chat.me()) {
      var row = document.getElementById("conversation-" + payload.conversation_id);
      if (row && payload.seq >= parseInt(row.dataset.lastSeq || "0", 10)) Chat.setUnread(payload.conversation_id, 0);
      else if (row) Chat.refreshRow(payload.conversation_id, 200);
    }
  };
  function clearReceipt(list) {
    list.querySelectorAll(":scope > .receipt").forEach(function (n) { n.remove(); });
    return list;
  }
  Chat.live.member = function (data) {
    var payload = JSON.parse(data);
    var list = listFor(payload.conversation_id);
    if (!list) return;
    if (payload.type === "member.removed" && payload.user_id === Chat.me()) {
      var composer = chatOf(list).querySelector("[data-composer]");
      if (composer) composer.replaceWith(Object.assign(document.createElement("p"), {
        className: "history-nav", textContent: "You are no longer a member of this conversation."
      }));
    }
  };
  Chat.live.reset = function () { Chat.catchUp("reset"); };
  Chat.live["session-expired"] = function () { window.location.reload(); };

  /* Quiet catch-up: what an open conversation gained while we were away, and fresh list rows. */
  Chat.catchUp = function (why) {
    lists().forEach(function (list) {
      if (chatOf(list).dataset.history) return;
      fetchAfter(list, lastSeq(list), 0);
    });
    if (why !== "open") htmx.ajax("GET", "/conversations", { target: "#conversation-list", swap: "innerHTML" });
  };
  function fetchAfter(list, seq, round) {
    if (round > 20) return;
    var url = "/c/" + list.dataset.conversationId + "/messages?limit=100&after=" + seq;
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fragment = parse(html);
        fragment.querySelectorAll("li.msg").forEach(function (m) { Chat.upsertMessage(m.outerHTML); });
        var more = fragment.querySelector("[data-more-after]");
        if (more) fetchAfter(list, parseInt(more.dataset.moreAfter, 10), round + 1);
      })
      .catch(function () {});
  }

  /* Load older messages as the reader scrolls up, keeping what they were reading in place. */
  function maybeLoadOlder(list) {
    var link = list.querySelector(":scope > .load-older [data-load-older]");
    if (!link || link.classList.contains("htmx-request") || list.dataset.loading) return;
    if (list.scrollTop < 400 || list.scrollHeight <= list.clientHeight) {
      list.dataset.loading = "1";
      htmx.trigger(link, "load-older");
    }
  }
  document.addEventListener("scroll", function (event) {
    var list = event.target;
    if (!list.classList || !list.classList.contains("messages")) return;
    list.dataset.stuck = nearBottom(list) ? "1" : "";
    maybeLoadOlder(list);
  }, true);
  // A picture that finishes loading grows the list: keep a reader who was at the bottom there.
  document.addEventListener("load", function (event) {
    var list = event.target.tagName === "IMG" && event.target.closest(".messages");
    if (list && list.dataset.stuck !== "") toBottom(list);
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("load-older")) {
      var list = target.parentElement;
      list.dataset.anchor = String(list.scrollHeight - list.scrollTop);
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.target.parentElement;
    if (!list || !list.classList || !list.classList.contains("messages") || !list.dataset.anchor) return;
    var anchor = parseInt(list.dataset.anchor, 10);
    delete list.dataset.anchor;
    delete list.dataset.loading;
    layout(list);
    list.scrollTop = list.scrollHeight - anchor;
    setTimeout(function () { maybeLoadOlder(list); }, 50);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var list = event.target.closest && event.target.closest(".messages");
    if (list && !event.detail.successful) delete list.dataset.loading;
  });

  /* Edits and deletions come back as the message partial (or the edit form, which keeps the same id). */
  document.addEventListener("htmx:afterSwap", function (event) {
    var el = event.target;
    var replaced = event.detail && event.detail.target;
    if (!el.classList || !el.classList.contains("msg") || !replaced || !replaced.classList.contains("msg")) return;
    var list = el.closest(".messages");
    if (list && !list.dataset.anchor) layout(list);
    var input = el.querySelector("[data-edit-input]");
    if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
  });

  /* The chat panel beside a profile card. */
  function initChat(chat) {
    var list = chat.querySelector(".messages");
    if (!list || list.dataset.ready) return;
    list.dataset.ready = "1";
    layout(list);
    var hash = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (hash && list.contains(hash)) hash.scrollIntoView({ block: "center" }); else toBottom(list);
    if (!chat.dataset.history && document.visibilityState === "visible") markRead(list);  // GET never marks read
    setTimeout(function () { maybeLoadOlder(list); }, 100);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.target;
    if (panel.id !== "side-panel") return;
    var chat = panel.querySelector(".chat");
    if (!chat) return;
    panel.classList.add("is-open");
    initChat(chat);
    var input = chat.querySelector("textarea");
    if (input) input.focus({ preventScroll: true });
    Chat.refreshList();
  });
  function closePanel(panel) {
    panel.classList.remove("is-open");
    setTimeout(function () { if (!panel.classList.contains("is-open")) panel.innerHTML = ""; }, 320);
    var button = document.querySelector("[data-message-button]");
    if (button) button.focus();
  }
  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-close-panel]");
    if (close) closePanel(close.closest(".side-panel"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var panel = event.target.closest && event.target.closest(".side-panel.is-open");
    if (panel && !event.target.closest(".msg--editing")) closePanel(panel);
  });

  htmx.onLoad(function (root) {
    if (root === document.body) document.querySelectorAll(".chat").forEach(initChat);
  });
})();
