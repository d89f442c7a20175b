/* The outbox: messages on their way to the server, one conversation at a time, kept until it has them.
 *
 * Every message is kept in localStorage (body, client id, conversation, the ids of its files, which the
 * composer uploaded beforehand; a File given to add() only in memory) until the
 * server answers with it. One conversation's messages are sent one after another, so they are stored in
 * the order they were typed. A send that meets no connection waits, and all waiting sends go again by
 * themselves when the stream reopens, the browser is back online, or a page is loaded again (even one
 * without that chat); every retry reuses the client id, so the server never stores one twice. What the
 * server refused is dropped, leaving its bubble to say why. Bubbles (made by the composer) are found by
 * their id, pending-<client id>; the chat that shows the sent message gets it as a "chat:upsert" event.
 */
(function () {
  "use strict";

  var Chat = window.Chat;
  var OFFLINE = "Not sent: no connection. It will be sent when you are back online.";
  var BUSY = "Not sent yet: the server did not answer. It will be sent when the connection returns.";
  var files = {};   // client id -> File: a file cannot be kept across a reload
  var queues = {};  // conversation id -> {busy, paused, current: the client id on its way, why: the pause's reason}

  /* The durable list of unsent messages, oldest first, for the signed-in person. */
  function storeKey() { return "chat:unsent:" + Chat.me(); }
  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey()) || "[]"); } catch (e) { return []; }
  }
  function save(items) {
    try { localStorage.setItem(storeKey(), JSON.stringify(items)); } catch (e) { /* private mode: memory only */ }
  }
  function keep(item) { var items = load(); items.push(item); save(items); }
  function forget(clientId) {
    delete files[clientId];
    save(load().filter(function (item) { return item.clientId !== clientId; }));
  }
  function unsent(conversationId) {
    return load().filter(function (item) { return item.conversationId === conversationId; });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function size(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i === 0 ? String(bytes) : bytes.toFixed(1).replace(/\.0$/, "")) + " " + units[i];
  }
  function tooBig(fileSize, limit) {
    return "This file is " + size(fileSize) + "; the limit is " + size(limit) + ".";
  }

  function add(item, file) {
    item.clientId = uuid();
    if (file) files[item.clientId] = file;
    keep(item);
    return item;
  }

  /* --- the bubbles' state ------------------------------------------------------------------------- */
  function bubbleOf(clientId) { return document.getElementById("pending-" + clientId); }

  function show(bubble, state, text) {
    if (!bubble) return;
    bubble.classList.toggle("msg--sending", state === "sending");
    bubble.classList.toggle("msg--pending", state !== "refused");
    bubble.classList.toggle("msg--failed", state !== "sending");
    bubble.querySelector("[data-status-text]").textContent = text;
    bubble.querySelector("[data-retry]").hidden = state !== "waiting";
    bubble.querySelector("[data-cancel]").textContent = state === "refused" ? "Remove" : "Cancel";
  }

  /* --- the per-conversation queue ------------------------------------------------------------------- */
  function queue(conversationId) {
    return queues[conversationId] || (queues[conversationId] = { busy: false, paused: false, current: null, why: "" });
  }

  function pump(conversationId) {
    var q = queue(conversationId);
    if (q.busy || q.paused) return;
    var item = unsent(conversationId)[0];
    if (!item) return;
    var bubble = bubbleOf(item.clientId);
    if (item.fileName && !files[item.clientId]) {
      refuse(item, "The file was not kept when the page was reloaded: attach it again.");
      return pump(conversationId);
    }
    q.busy = true;
    q.current = item.clientId;
    show(bubble, "sending", "Sending…");
    var data = new FormData();
    data.append("body", item.body);
    data.append("client_id", item.clientId);
    if (item.replyToId) data.append("reply_to_id", item.replyToId);
    if (files[item.clientId]) data.append("file", files[item.clientId]);
    (item.attachments || []).forEach(function (a) { data.append("attachment_ids", a.id); });
    Chat.post(item.url, data).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.href = redirect; return "stop"; }  // signed out: the text is kept
      return response.text().then(function (html) {
        if (response.ok) { sent(item, html); return "next"; }
        if (response.status >= 500 || response.status === 429) { wait(item, BUSY); return "pause"; }
        refuse(item, response.status === 413 && item.fileSize ? tooBig(item.fileSize, item.maxUpload) : reason(html));
        return "next";
      });
    }, function () {
      wait(item, OFFLINE);
      Chat.announce("Message not sent: no connection.");
      return "pause";
    }).then(function (next) {
      q.busy = false;
      q.current = null;
      if (next === "pause") q.paused = true;
      if (next === "next") pump(conversationId);
    });
  }

  function wait(item, why) {
    queue(item.conversationId).why = why;
    show(bubbleOf(item.clientId), "waiting", why);
  }

  /* A bubble made while its message is already on its way or waiting says so. */
  function showState(bubble, item) {
    var q = queue(item.conversationId);
    if (q.current === item.clientId) show(bubble, "sending", "Sending…");
    else if (q.paused) show(bubble, "waiting", q.why);
    return bubble;
  }

  function resume(conversationId) {
    queue(conversationId).paused = false;
    pump(conversationId);
  }
  function resumeAll() {
    load().forEach(function (item) { resume(item.conversationId); });
  }

  function sent(item, html) {
    forget(item.clientId);
    var chat = document.getElementById("chat-" + item.conversationId);
    var detail = { html: html, element: null };
    if (chat) chat.dispatchEvent(new CustomEvent("chat:upsert", { detail: detail }));
    var bubble = bubbleOf(item.clientId);
    if (!detail.element && bubble) bubble.remove();
  }

  function refuse(item, text) {
    forget(item.clientId);  // it would be refused again: only the bubble stays, with Remove
    show(bubbleOf(item.clientId), "refused", text);
    Chat.announce("Message not sent. " + text);
  }

  function reason(html) {
    var text = new DOMParser().parseFromString(html, "text/html").body.textContent.trim().split("\n")[0];
    return text ? text.slice(0, 200) : "Not sent.";
  }

  document.addEventListener("live:connected", resumeAll);
  window.addEventListener("online", resumeAll);

  // Signing out on a shared computer leaves no text behind (what was not sent by then is dropped).
  Chat.controller("sign-out", function (form) {
    form.addEventListener("submit", function () { localStorage.removeItem(storeKey()); });
  });

  // After the page's modules connected (htmx connects them on DOMContentLoaded, before this listener).
  document.addEventListener("DOMContentLoaded", function () { if (document.body.dataset.userId) resumeAll(); });

  Chat.outbox = { add: add, resume: resume, unsent: unsent, forget: forget, bubbleOf: bubbleOf,
                  showState: showState, size: size, tooBig: tooBig };
})();
