/* The composer (<form data-controller="composer">): Enter sends, Shift+Enter is a new line; a counter near
 * the limit; "typing" pings. A sent message goes to the outbox (static/js/outbox.js) and shows at once as a
 * clone of the server-rendered pending bubble (<template data-pending-template>: the message partial itself),
 * with Retry and Cancel (Remove once the server refused it). From an older history page, a gap marker says
 * that newer messages lie between the page and what is sent.
 *
 * Files: chosen in the file input (several at once), dropped anywhere on the conversation, or pasted, each
 * becomes a chip in the tray with a preview (pictures), its own progress, and a remove (x) button. Each is
 * checked against the server's limit (data-max-upload-bytes) and uploaded at once to the attachments API; a
 * file the server refuses (or that is too big) says why in its chip and can only be dismissed, a failed
 * connection offers Retry. Send waits for uploads still running, then sends the message with every file that
 * uploaded. Other modules (the recorder) attach with a "composer:attach" event ({files, send}).
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
    var files = item.attachments || (item.fileName ? [{ name: item.fileName, size: item.fileSize }] : []);
    files.forEach(function (f) {
      var copy = file.cloneNode(true);
      copy.removeAttribute("href");
      copy.querySelector(".attachment__name").textContent = f.name;
      copy.querySelector(".attachment__size").textContent = f.size ? outbox.size(f.size) : "";
      file.parentNode.insertBefore(copy, file);
    });
    file.remove();
    Chat.formatTimes(li);
    return li;
  }

  Chat.controller("composer", function (form) {
    var conversationId = form.dataset.conversationId;
    var chat = form.closest(".chat");
    var list = chat.querySelector(".messages");
    var input = form.querySelector("textarea[name=body]");
    var fileInput = form.querySelector("[data-file-input]");
    var tray = form.querySelector("[data-file-tray]");
    var maxFiles = parseInt(form.dataset.maxFiles, 10) || 10;
    var chips = [];        // {file, li, state: "uploading" | "done" | "failed" | "refused", attachment, xhr}
    var sendWhenUploaded = false;
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

    /* --- the file tray ------------------------------------------------------------------------------ */
    function button(className, label, text) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = className;
      b.setAttribute("aria-label", label);
      b.textContent = text;
      return b;
    }

    function addFiles(files) {
      say("");
      Array.prototype.forEach.call(files || [], function (file) {
        var chip = { file: file, state: "uploading", attachment: null, xhr: null };
        chip.li = document.createElement("li");
        chip.li.className = "composer__chip";
        chip.li.setAttribute("data-attachment-chip", "");
        if (/^image\//.test(file.type) && window.URL && URL.createObjectURL) {
          var img = document.createElement("img");
          img.className = "composer__chip-preview";
          img.alt = "";
          img.src = chip.preview = URL.createObjectURL(file);
          chip.li.appendChild(img);
        }
        var text = document.createElement("span");
        text.className = "composer__chip-text";
        var name = document.createElement("span");
        name.className = "composer__chip-name";
        name.setAttribute("data-file-name", "");
        name.textContent = file.name;
        var status = document.createElement("span");
        status.className = "composer__chip-status";
        status.setAttribute("data-chip-status", "");
        var progress = document.createElement("progress");
        progress.max = 100;
        progress.value = 0;
        progress.setAttribute("aria-label", "Uploading " + file.name);
        text.append(name, status, progress);
        var retry = button("link-btn composer__chip-retry", "Retry uploading " + file.name, "Retry");
        retry.setAttribute("data-chip-retry", "");
        retry.hidden = true;
        var remove = button("composer__chip-remove", "Remove " + file.name, "×");
        remove.setAttribute("data-chip-remove", "");
        chip.li.append(text, retry, remove);
        retry.addEventListener("click", function () { enqueue(chip); });
        remove.addEventListener("click", function () { dismiss(chip); input.focus(); });
        var kept = chips.filter(function (c) { return c.state !== "refused"; }).length;
        chips.push(chip);
        tray.appendChild(chip.li);
        if (kept >= maxFiles) refuse(chip, "A message can carry at most " + maxFiles + " files.");
        else if (file.size > maxUpload) refuse(chip, outbox.tooBig(file.size, maxUpload));
        else if (!file.size) refuse(chip, "This file is empty.");
        else enqueue(chip);
      });
      tray.hidden = !chips.length;
    }

    function show(chip, state, text) {
      chip.state = state;
      chip.li.dataset.state = state;
      chip.li.querySelector("[data-chip-status]").textContent = text;
      chip.li.querySelector("progress").hidden = state !== "uploading";
      chip.li.querySelector("[data-chip-retry]").hidden = state !== "failed";
      if (state === "refused" || state === "failed") Chat.announce(chip.file.name + ": " + text);
    }
    function refuse(chip, text) { show(chip, "refused", text); settled(); }

    /* One upload at a time, in the tray's order (the message lists its files in the order they were stored). */
    function enqueue(chip) {
      show(chip, "uploading", "Waiting to upload…");
      chip.queued = true;
      nextUpload();
    }
    function nextUpload() {
      if (chips.some(function (c) { return c.xhr; })) return;
      var chip = chips.filter(function (c) { return c.queued; })[0];
      if (chip) upload(chip);
    }

    function upload(chip) {
      chip.queued = false;
      show(chip, "uploading", "Uploading…");
      var data = new FormData();
      data.append("file", chip.file, chip.file.name);
      var xhr = chip.xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", Chat.csrf());
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) chip.li.querySelector("progress").value = Math.round(100 * event.loaded / event.total);
      });
      xhr.addEventListener("load", function () {
        chip.xhr = null;
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
        if (xhr.status === 201 && answer) {
          chip.attachment = answer;
          show(chip, "done", outbox.size(chip.file.size));
        } else if (xhr.status === 413) {
          show(chip, "refused", outbox.tooBig(chip.file.size, maxUpload));
        } else if (xhr.status >= 500 || xhr.status === 429 || xhr.status === 0) {
          show(chip, "failed", answer && answer.error && xhr.status === 429 ? answer.error.message
            : "Not uploaded: the server did not answer. Try again.");
        } else {
          show(chip, "refused", answer && answer.error ? answer.error.message : "This file can't be sent.");
        }
        nextUpload();
        settled();
      });
      xhr.addEventListener("error", function () {
        chip.xhr = null;
        show(chip, "failed", "Not uploaded: no connection. Try again when you are back online.");
        nextUpload();
        settled();
      });
      xhr.send(data);
    }

    function dismiss(chip) {
      if (chip.xhr) { chip.xhr.abort(); chip.xhr = null; }
      chip.queued = false;
      if (chip.preview) URL.revokeObjectURL(chip.preview);
      chip.li.remove();
      chips = chips.filter(function (c) { return c !== chip; });
      tray.hidden = !chips.length;
      nextUpload();
      settled();
    }
    function clearTray() {
      chips.slice().forEach(dismiss);
      fileInput.value = "";
    }
    function uploading() { return chips.some(function (c) { return c.state === "uploading"; }); }

    /* An upload ended (or a chip went): a send that waited for it goes now. */
    function settled() {
      if (!sendWhenUploaded || uploading()) return;
      sendWhenUploaded = false;
      send();
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
      if (body.trim().length > limit) { update(); return; }
      if (uploading()) {
        sendWhenUploaded = true;
        say("");
        Chat.announce("The message will be sent when the files have uploaded.");
        return;
      }
      var uploaded = chips.filter(function (c) { return c.state === "done"; }).map(function (c) {
        return { id: c.attachment.id, name: c.file.name, size: c.file.size };
      });
      if (!body.trim() && !uploaded.length) {
        if (chips.length) say("None of these files could be sent: remove them, or attach others.");
        input.focus();
        return;
      }
      say("");
      var replyTo = form.querySelector("[data-reply-to]");
      var item = outbox.add({ conversationId: conversationId, url: form.action, body: body,
                              replyToId: replyTo && replyTo.value ? replyTo.value : null,
                              createdAt: new Date().toISOString(), maxUpload: maxUpload,
                              attachments: uploaded });
      append(makeBubble(form, item));
      if (replyTo && replyTo.value) form.dispatchEvent(new CustomEvent("reply:clear"));
      input.value = "";
      clearTray();
      update();
      input.focus();
      outbox.resume(conversationId);  // a new message is also a good moment to try the waiting ones again
    }

    function typing() {
      if (!form.dataset.typingUrl) return;  // a big group shows nobody typing
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
      addFiles(fileInput.files);
      fileInput.value = "";  // the tray has them; the same file can be chosen again
    });
    form.addEventListener("composer:attach", function (event) {
      addFiles(event.detail.files);
      if (event.detail.send) send();
    });

    /* Files dragged anywhere onto the conversation, or pasted into the composer (a screenshot, a copied
     * picture). Dragging text or links is left to the browser. */
    function carriesFiles(event) {
      return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
    }
    var dragDepth = 0;
    chat.addEventListener("dragenter", function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      dragDepth += 1;
      chat.classList.add("is-dropping");
    });
    chat.addEventListener("dragover", function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    chat.addEventListener("dragleave", function () {
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) chat.classList.remove("is-dropping");
    });
    chat.addEventListener("drop", function (event) {
      dragDepth = 0;
      chat.classList.remove("is-dropping");
      var dropped = event.dataTransfer && event.dataTransfer.files;
      if (!dropped || !dropped.length) return;
      event.preventDefault();
      addFiles(dropped);
      input.focus();
    });
    form.addEventListener("paste", function (event) {
      var pasted = event.clipboardData && event.clipboardData.files;
      if (!pasted || !pasted.length) return;  // text pastes as text
      event.preventDefault();
      addFiles(pasted);
    });

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
