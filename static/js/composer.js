/* The composer (<form data-controller="composer">) and the sends it starts.
 *
 * Enter sends, Shift+Enter is a new line; a counter near the limit; "typing" pings; a file checked against
 * the server's limit before it is sent. Every message is kept in localStorage (body, client id,
 * conversation; a file only in memory) until the server has it, and shown as a clone of the server-rendered
 * pending bubble (<template data-pending-template>). One conversation's messages are sent one after
 * another, so they are stored in the order they were typed. A send that meets no connection waits, and all
 * waiting sends go again by themselves when the stream reopens, the browser is back online, or the page is
 * loaded again; every retry reuses the client id, so the server never stores one twice. A waiting message
 * can be cancelled; one the server refused can be removed.
 */
(function () {
  "use strict";

  var Chat = window.Chat;
  var TYPING_EVERY = 3000;
  var OFFLINE = "Not sent: no connection. It will be sent when you are back online.";
  var BUSY = "Not sent yet: the server did not answer. It will be sent when the connection returns.";
  var files = {};   // client id -> File: a file cannot be kept across a reload
  var queues = {};  // conversation id -> {busy, paused, current: the client id on its way, why: the pause's reason}
  var lastTyping = {};

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

  /* --- the bubbles ---------------------------------------------------------------------------------- */
  function bubbleOf(clientId) { return document.getElementById("pending-" + clientId); }

  function makeBubble(form, item) {
    var li = form.querySelector("template[data-pending-template]").content.querySelector("li.msg").cloneNode(true);
    li.id = "pending-" + item.clientId;
    li.classList.add("msg--pending");
    li.dataset.pendingClientId = item.clientId;
    delete li.dataset.seq;
    li.dataset.createdAt = item.createdAt;
    var time = li.querySelector("time");
    if (time) time.setAttribute("datetime", item.createdAt);
    var body = li.querySelector(".msg__body");
    if (item.body.trim()) body.textContent = item.body.trim(); else body.remove();
    var file = li.querySelector(".attachment");
    if (item.fileName) {
      file.removeAttribute("href");
      file.querySelector(".attachment__name").textContent = item.fileName;
      file.querySelector(".attachment__size").textContent = item.fileSize ? size(item.fileSize) : "";
    } else {
      file.remove();
    }
    Chat.formatTimes(li);
    return li;
  }

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
    if (files[item.clientId]) data.append("file", files[item.clientId]);
    Chat.post(item.url, data).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.href = redirect; return "stop"; }  // signed out: the text is kept
      return response.text().then(function (html) {
        if (response.ok) { sent(item, html); return "next"; }
        if (response.status >= 500 || response.status === 429) { wait(item, BUSY); return "pause"; }
        refuse(item, response.status === 413 ? tooBig(item.fileSize, item.maxUpload) : reason(html));
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

  /* --- the form ------------------------------------------------------------------------------------- */
  Chat.controller("composer", function (form) {
    var conversationId = form.dataset.conversationId;
    var chat = form.closest(".chat");
    var list = chat.querySelector(".messages");
    var input = form.querySelector("textarea[name=body]");
    var fileInput = form.querySelector("[data-file-input]");
    var chip = form.querySelector("[data-file-chip]");
    var counter = form.querySelector("[data-counter]");
    var sendButton = form.querySelector(".composer__send");
    var error = form.querySelector("[data-composer-error]");
    var limit = parseInt(form.dataset.maxLength, 10);
    var maxUpload = parseInt(form.dataset.maxUploadBytes, 10);

    function update() {
      var length = input.value.trim().length;
      var near = length >= limit - 500;
      counter.textContent = length > limit ? (length - limit) + " characters too many"
        : near ? (limit - length) + " characters left" : "";
      counter.classList.toggle("is-near", near && length <= limit);
      counter.classList.toggle("is-over", length > limit);
      sendButton.disabled = length > limit;
      input.style.height = "";  // an empty one keeps the style sheet's height, even while the panel is closed
      if (input.value) input.style.height = Math.min(input.scrollHeight + 2, 180) + "px";
    }
    function say(text) { error.textContent = text || ""; error.hidden = !text; }
    function clearFile() { fileInput.value = ""; chip.hidden = true; }
    function checkFile() {
      var file = fileInput.files[0];
      if (file && file.size > maxUpload) { say(tooBig(file.size, maxUpload)); clearFile(); return null; }
      return file || null;
    }

    function append(bubble) {
      if (chat.dataset.history && !list.querySelector(".history-gap")) {
        // An older page is on screen: say that newer messages lie between it and what is sent now.
        var gap = document.createElement("li");
        gap.className = "history-gap";
        var link = document.createElement("a");
        link.href = chat.dataset.latestUrl;
        link.textContent = "Newer messages are not shown here. Jump to the latest";
        gap.appendChild(link);
        list.appendChild(gap);
      }
      list.appendChild(bubble);
      var empty = list.querySelector(".history-empty");
      if (empty) empty.remove();
      chat.dispatchEvent(new CustomEvent("chat:changed"));
      list.scrollTop = list.scrollHeight;
    }

    function send() {
      var body = input.value;
      var file = checkFile();
      if (!body.trim() && !file) { input.focus(); return; }
      if (body.trim().length > limit) { update(); return; }
      say("");
      var item = { clientId: uuid(), conversationId: conversationId, url: form.action, body: body,
                   createdAt: new Date().toISOString(), maxUpload: maxUpload,
                   fileName: file ? file.name : null, fileSize: file ? file.size : null };
      if (file) files[item.clientId] = file;
      keep(item);
      append(makeBubble(form, item));
      input.value = "";
      clearFile();
      update();
      input.focus();
      resume(conversationId);  // a new message is also a good moment to try the waiting ones again
    }

    function typing() {
      var now = Date.now();
      if (lastTyping[conversationId] && now - lastTyping[conversationId] < TYPING_EVERY) return;
      lastTyping[conversationId] = now;
      Chat.post(form.dataset.typingUrl, null).catch(function () {});
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
      event.preventDefault();
      form.requestSubmit();
    });
    input.addEventListener("input", function () {
      update();
      if (input.value.trim()) typing();
    });
    fileInput.addEventListener("change", function () {
      say("");
      var file = checkFile();
      chip.hidden = !file;
      if (file) form.querySelector("[data-file-name]").textContent = file.name;
    });
    form.querySelector("[data-file-clear]").addEventListener("click", clearFile);

    /* Retry and Cancel/Remove on this conversation's bubbles. */
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-retry], [data-cancel]");
      var bubble = button && button.closest("[data-pending-client-id]");
      if (!bubble) return;
      if (button.hasAttribute("data-retry")) { resume(conversationId); return; }
      if (bubble.classList.contains("msg--sending")) return;  // on its way: too late to cancel
      forget(bubble.dataset.pendingClientId);
      bubble.remove();
      chat.dispatchEvent(new CustomEvent("chat:changed"));
    });

    /* What is still unsent here (from before a reload, or from another tab) shows as pending, and goes. */
    unsent(conversationId).forEach(function (item) {
      if (!bubbleOf(item.clientId)) append(showState(makeBubble(form, item), item));
    });
    update();
    pump(conversationId);
  });

  // After the page's modules connected (htmx connects them on DOMContentLoaded, before this listener).
  document.addEventListener("DOMContentLoaded", function () { if (document.body.dataset.userId) resumeAll(); });
})();
