/* The page shell: CSRF for htmx, local times, the conversation list (order, badges, presence), announcements. */
(function () {
  "use strict";

  var Chat = (window.Chat = window.Chat || { live: {} });
  var presence = {};

  Chat.me = function () { return document.body.dataset.userId || ""; };
  Chat.csrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = Chat.csrf();
  });

  /* Times: the server writes UTC; people read their own time zone. */
  function sameDay(a, b) { return a.toDateString() === b.toDateString(); }
  Chat.formatTime = function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date)) return;
    var now = new Date();
    var clock = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    var text = clock;
    if (el.classList.contains("conv-row__time") && !sameDay(date, now)) {
      var days = (now - date) / 86400000;
      text = days < 6 ? date.toLocaleDateString([], { weekday: "short" })
        : date.toLocaleDateString([], { month: "short", day: "numeric" });
    }
    el.textContent = text;
    el.title = date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
  };
  Chat.formatTimes = function (root) {
    (root.matches && root.matches("time[datetime]") ? [root] : root.querySelectorAll("time[datetime]"))
      .forEach(Chat.formatTime);
  };

  /* Announce in the polite live region (new messages, send failures). */
  Chat.announce = function (text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  };

  /* Presence dots, kept in a map so rows swapped in later show the right state. */
  Chat.applyPresence = function (root) {
    (root || document).querySelectorAll("[data-presence-user]").forEach(function (dot) {
      var id = dot.dataset.presenceUser;
      if (!presence[id] && dot.dataset.status) presence[id] = dot.dataset.status;  // what the page knew
      if (presence[id]) dot.dataset.status = presence[id];
    });
    (root || document).querySelectorAll("[data-presence-label]").forEach(function (label) {
      var status = presence[label.dataset.presenceLabel];
      label.textContent = status && status !== "offline" ? status : "";
    });
  };
  Chat.live.presence = function (data) {
    var payload = JSON.parse(data);
    presence[payload.user_id] = payload.status;
    Chat.applyPresence(document);
  };

  /* The conversation list: newest activity first, the open one marked, the total unread in the top bar. */
  Chat.refreshList = function () {
    var list = document.getElementById("conversation-list");
    if (!list) return;
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > .conv-row"));
    var sorted = rows.slice().sort(function (a, b) {
      return a.dataset.updatedAt < b.dataset.updatedAt ? 1 : a.dataset.updatedAt > b.dataset.updatedAt ? -1 : 0;
    });
    if (sorted.some(function (row, i) { return row !== rows[i]; })) {
      sorted.forEach(function (row) { list.appendChild(row); });
    }
    var open = document.querySelector(".chat--page");
    var total = 0;
    sorted.forEach(function (row) {
      var link = row.querySelector(".conv-row__link");
      var current = open && open.dataset.conversationId === row.dataset.conversationId;
      if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
      if (row.dataset.unread !== "0" && Chat.isReading && Chat.isReading(row.dataset.conversationId)) {
        showUnread(row, 0);  // on screen right now: the script marks it read on the server too
      }
      total += parseInt(row.dataset.unread || "0", 10);
    });
    var badge = document.getElementById("unread-total");
    if (badge) {
      badge.textContent = total > 99 ? "99+" : String(total);
      badge.dataset.count = String(total);
      badge.hidden = total === 0;
    }
    document.title = document.title.replace(/^\(\d+\+?\) /, "") ;
    if (total) document.title = "(" + (total > 99 ? "99+" : total) + ") " + document.title;
  };

  function showUnread(row, count) {
    row.dataset.unread = String(count);
    row.classList.toggle("conv-row--unread", count > 0);
    var badge = row.querySelector(".badge");
    if (badge) {
      badge.hidden = count === 0;
      badge.firstChild.nodeValue = count > 99 ? "99+" : String(count);
    }
  }
  Chat.setUnread = function (conversationId, count) {
    var row = document.getElementById("conversation-" + conversationId);
    if (!row) return;
    showUnread(row, count);
    Chat.refreshList();
  };

  /* Fetch one row (out-of-band swap) when the stream tells us less than the row shows. */
  var rowTimers = {};
  Chat.refreshRow = function (conversationId, delay) {
    clearTimeout(rowTimers[conversationId]);
    rowTimers[conversationId] = setTimeout(function () {
      delete rowTimers[conversationId];
      htmx.ajax("GET", "/c/" + conversationId + "/row", { target: "#sse-sink", swap: "none" });
    }, delay || 0);
  };
  Chat.cancelRowRefresh = function (conversationId) {
    clearTimeout(rowTimers[conversationId]);
    delete rowTimers[conversationId];
  };

  var listTimer = null;
  function scheduleListRefresh() {
    if (listTimer) return;
    listTimer = requestAnimationFrame(function () { listTimer = null; Chat.refreshList(); });
  }

  htmx.onLoad(function (root) {
    Chat.formatTimes(root);
    Chat.applyPresence(root);
    if (root === document.body || (root.closest && root.closest("#conversation-list")) || root.id === "conversation-list") {
      scheduleListRefresh();
    }
  });
  document.addEventListener("htmx:oobAfterSwap", scheduleListRefresh);

  /* A row arrives as "insert at the top of the list"; when the list already has it, replace it in place
   * (refreshList then sorts by activity). No id is ever in the page twice. */
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (event.detail.target.id !== "conversation-list") return;
    var row = event.detail.fragment.querySelector(".conv-row");
    var existing = row && document.getElementById(row.id);
    if (!existing) return;
    event.detail.shouldSwap = false;
    existing.replaceWith(row);
    htmx.process(row);
    Chat.formatTimes(row);
    Chat.applyPresence(row);
    scheduleListRefresh();
  });
})();
