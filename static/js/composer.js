/* The composer (<form data-controller="composer">): Enter sends, Shift+Enter is a new line; a counter near
 * the limit; "typing" pings; a file checked against the server's limit (data-max-upload-bytes) before it
 * is sent. A sent message goes to the outbox (static/js/outbox.js) and shows at once as a clone of the
 * server-rendered pending bubble (<template data-pending-template>: the message partial itself), with
 * Retry and Cancel (Remove once the server refused it). From an older history page, a gap marker says
 * that newer messages lie between the page and what is sent.
 */
(function () {
  "use strict";

  var Chat = window.Chat;
  var outbox = Chat.outbox;
  var TYPING_EVERY = 3000;
  var lastTyping = {};

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
      file.querySelector(".attachment__size").textContent = item.fileSize ? outbox.size(item.fileSize) : "";
    } else {
      file.remove();
    }
    Chat.formatTimes(li);
    return li;
  }

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
      if (file && file.size > maxUpload) { say(outbox.tooBig(file.size, maxUpload)); clearFile(); return null; }
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
      var replyTo = form.querySelector("[data-reply-to]");
      var item = outbox.add({ conversationId: conversationId, url: form.action, body: body,
                              replyToId: replyTo && replyTo.value ? replyTo.value : null,
                              createdAt: new Date().toISOString(), maxUpload: maxUpload,
                              fileName: file ? file.name : null, fileSize: file ? file.size : null }, file);
      append(makeBubble(form, item));
      if (replyTo && replyTo.value) form.dispatchEvent(new CustomEvent("reply:clear"));
      input.value = "";
      clearFile();
      update();
      input.focus();
      outbox.resume(conversationId);  // a new message is also a good moment to try the waiting ones again
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
      if (button.hasAttribute("data-retry")) { outbox.resume(conversationId); return; }
      if (bubble.classList.contains("msg--sending")) return;  // on its way: too late to cancel
      outbox.forget(bubble.dataset.pendingClientId);
      bubble.remove();
      chat.dispatchEvent(new CustomEvent("chat:changed"));
    });

    /* What is still unsent here (from before a reload, or from another tab) shows as pending, and goes. */
    outbox.unsent(conversationId).forEach(function (item) {
      if (!outbox.bubbleOf(item.clientId)) append(outbox.showState(makeBubble(form, item), item));
    });
    update();
    outbox.resume(conversationId);
  });

})();
