/* The conversation list (<ul data-controller="conversation-list">): the server sends each changed row as an
 * out-of-band swap to the top of the list; this module keeps the list in order of activity with one row per
 * conversation, marks the open one, and sums the unread counts into the top bar and the tab title. */
(function () {
  "use strict";

  var Chat = window.Chat;

  function rows(list) { return Array.prototype.slice.call(list.querySelectorAll(":scope > .conv-row")); }

  /* Whether a conversation is on screen with its newest messages, so what arrives there is read at once. */
  function onScreen(conversationId) {
    var chat = document.getElementById("chat-" + conversationId);
    return !!chat && !chat.dataset.history && !chat.dataset.unreadFrom && document.visibilityState === "visible";
  }

  function showUnread(row, count) {
    row.dataset.unread = String(count);
    row.classList.toggle("conv-row--unread", count > 0);
    var mention = row.querySelector("[data-mention-badge]");
    if (mention && count === 0) { mention.hidden = true; row.dataset.mentions = "0"; }
    var badge = row.querySelector(".badge");
    if (badge) {
      badge.hidden = count === 0;
      badge.firstChild.nodeValue = count > 99 ? "99+" : String(count);
    }
  }

  /* One row per conversation (the one just swapped in wins), newest activity first. */
  function order(list, fresh) {
    if (fresh && fresh.id) {
      list.querySelectorAll('[id="' + fresh.id + '"]').forEach(function (row) { if (row !== fresh) row.remove(); });
      // Archived rows live in the "Archived" list; one that would notify comes back to the main list.
      if ((fresh.dataset.archived || "0") !== (list.dataset.archived || "0")) fresh.remove();
    }
    var before = rows(list);
    var sorted = before.slice().sort(function (a, b) {
      return a.dataset.updatedAt < b.dataset.updatedAt ? 1 : a.dataset.updatedAt > b.dataset.updatedAt ? -1 : 0;
    });
    if (sorted.some(function (row, i) { return row !== before[i]; })) {
      sorted.forEach(function (row) { list.appendChild(row); });
    }
    refresh(list);
  }

  function refresh(list) {
    var open = document.querySelector(".chat--page");
    var total = 0;
    rows(list).forEach(function (row) {
      var link = row.querySelector(".conv-row__link");
      if (open && open.dataset.conversationId === row.dataset.conversationId) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
      if (row.dataset.unread !== "0" && onScreen(row.dataset.conversationId)) showUnread(row, 0);
      if (row.dataset.notify !== "none") total += parseInt(row.dataset.unread || "0", 10);  // muted: quietly
    });
    favicon(total);
    var badge = document.getElementById("unread-total");
    if (badge) {
      badge.textContent = total > 99 ? "99+" : String(total);
      badge.dataset.count = String(total);
      badge.hidden = total === 0;
    }
    var title = document.title.replace(/^\(\d+\+?\) /, "");
    document.title = total ? "(" + (total > 99 ? "99+" : total) + ") " + title : title;
  }

  /* The unread count as a badge on the tab's icon (drawn on a canvas over the logo). */
  var plainIcon = null, iconImage = null, lastIconCount = -1;
  function favicon(total) {
    var link = document.querySelector('link[rel="icon"]');
    if (!link || total === lastIconCount) return;
    lastIconCount = total;
    if (plainIcon === null) plainIcon = link.href;
    if (!total) { link.href = plainIcon; link.dataset.count = "0"; return; }
    function draw() {
      var canvas = document.createElement("canvas");
      canvas.width = canvas.height = 32;
      var ctx = canvas.getContext("2d");
      if (iconImage.complete && iconImage.naturalWidth) ctx.drawImage(iconImage, 0, 0, 32, 32);
      ctx.fillStyle = "#d93025";
      ctx.beginPath();
      ctx.arc(22, 10, 10, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.font = "bold 13px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(total > 9 ? "9+" : String(total), 22, 11);
      link.type = "image/png";
      link.href = canvas.toDataURL("image/png");
      link.dataset.count = String(total);
    }
    if (!iconImage) { iconImage = new Image(); iconImage.src = plainIcon; iconImage.onload = function () { lastIconCount = -1; }; }
    draw();
  }

  Chat.controller("conversation-list", function (list) {
    // Rows arrive by out-of-band swaps (one at a time, at the top) and by a full refresh of the list.
    new MutationObserver(function (changes) {
      var fresh = null;
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) { if (node.classList && node.classList.contains("conv-row")) fresh = node; });
      });
      order(list, fresh);
    }).observe(list, { childList: true });
    // A chat marked read here (or in another tab) clears its badge at once.
    list.addEventListener("list:read", function (event) {
      var row = document.getElementById("conversation-" + event.detail.conversationId);
      if (row) { showUnread(row, 0); refresh(list); }
    });
    list.addEventListener("live:read", function (event) {
      var payload = JSON.parse(event.detail);
      var row = document.getElementById("conversation-" + payload.conversation_id);
      if (payload.user_id !== Chat.me() || !row) return;
      if (payload.seq >= parseInt(row.dataset.lastSeq || "0", 10)) { showUnread(row, 0); refresh(list); }
    });
    // After a reconnect or a reset the rows may be stale: ask for all of them again.
    function reload() { htmx.ajax("GET", list.dataset.rowsUrl, { target: list, swap: "innerHTML" }); }
    list.addEventListener("live:connected", function (event) { if (event.detail.reconnect) reload(); });
    list.addEventListener("live:reset", reload);
    list.addEventListener("chat:opened", function () { refresh(list); });
    order(list, null);
  });
})();
