/* The composer: Enter sends, Shift+Enter is a new line, a counter near the limit, "typing" pings, and
 * optimistic sending: pending at once, then sent or failed with Retry. Retrying reuses the client id, so the
 * server returns the message it already has instead of storing it twice. */
(function () {
  "use strict";

  var Chat = window.Chat;
  var LIMIT = 4000;
  var NEAR = 3500;
  var TYPING_EVERY = 3000;
  var payloads = new WeakMap();
  var lastTyping = {};

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function parts(form) {
    return {
      input: form.querySelector("textarea[name=body]"),
      file: form.querySelector("[data-file-input]"),
      chip: form.querySelector("[data-file-chip]"),
      counter: form.querySelector("[data-counter]"),
      send: form.querySelector(".composer__send"),
      error: form.querySelector("[data-composer-error]")
    };
  }

  function autosize(input) {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 180) + "px";
  }

  function update(form) {
    var p = parts(form);
    var length = p.input.value.trim().length;
    p.counter.textContent = length >= NEAR ? (LIMIT - length) + " characters left" : "";
    p.counter.classList.toggle("is-near", length >= NEAR && length <= LIMIT);
    p.counter.classList.toggle("is-over", length > LIMIT);
    p.send.disabled = length > LIMIT;
    autosize(p.input);
  }

  function pendingBubble(form, payload) {
    var li = document.createElement("li");
    li.className = "msg msg--pending";
    li.id = "pending-" + payload.clientId;
    li.dataset.pendingClientId = payload.clientId;
    li.dataset.senderId = Chat.me();
    li.dataset.conversationId = form.dataset.conversationId;
    li.dataset.createdAt = new Date().toISOString();
    var content = document.createElement("div");
    content.className = "msg__content";
    var bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    if (payload.body.trim()) {
      var body = document.createElement("p");
      body.className = "msg__body";
      body.textContent = payload.body.trim();
      bubble.appendChild(body);
    }
    if (payload.file) {
      var file = document.createElement("span");
      file.className = "attachment attachment--file";
      file.textContent = payload.file.name;
      bubble.appendChild(file);
    }
    var status = document.createElement("div");
    status.className = "msg__status";
    status.setAttribute("role", "status");
    status.textContent = "Sending…";
    content.append(bubble, status);
    li.appendChild(content);
    return li;
  }

  function fail(bubble, reason) {
    if (!bubble.isConnected) return;
    bubble.classList.remove("msg--pending");
    bubble.classList.add("msg--failed");
    var status = bubble.querySelector(".msg__status");
    status.textContent = (reason || "Not sent.") + " ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link-btn";
    retry.dataset.retry = "";
    retry.textContent = "Retry";
    status.appendChild(retry);
    Chat.announce("Message not sent. " + (reason || ""));
  }

  function post(form, bubble) {
    var payload = payloads.get(bubble);
    var data = new FormData();
    data.append("body", payload.body);
    data.append("client_id", payload.clientId);
    if (payload.file) data.append("file", payload.file);
    bubble.classList.add("msg--pending");
    bubble.classList.remove("msg--failed");
    bubble.querySelector(".msg__status").textContent = "Sending…";
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": Chat.csrf() }
    }).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.href = redirect; return; }
      return response.text().then(function (html) {
        if (response.ok) {
          if (!Chat.upsertMessage(html) && bubble.isConnected) bubble.remove();
          return;
        }
        var text = new DOMParser().parseFromString(html, "text/html").body.textContent.trim();
        fail(bubble, response.status < 500 && text ? text.split("\n")[0].slice(0, 200) : "Not sent.");
      });
    }).catch(function () { fail(bubble, "Not sent: no connection."); });
  }

  function send(form) {
    var p = parts(form);
    var body = p.input.value;
    var file = p.file.files[0] || null;
    if (!body.trim() && !file) { p.input.focus(); return; }
    if (body.trim().length > LIMIT) { update(form); return; }
    var list = document.getElementById("messages-" + form.dataset.conversationId);
    var payload = { body: body, file: file, clientId: uuid() };
    var bubble = pendingBubble(form, payload);
    payloads.set(bubble, payload);
    list.appendChild(bubble);
    var empty = list.querySelector(".history-empty");
    if (empty) empty.remove();
    Chat.layout(list);
    list.scrollTop = list.scrollHeight;
    p.input.value = "";
    clearFile(form);
    update(form);
    p.input.focus();
    post(form, bubble);
  }

  function clearFile(form) {
    var p = parts(form);
    p.file.value = "";
    p.chip.hidden = true;
  }

  function typing(form) {
    var id = form.dataset.conversationId;
    var now = Date.now();
    if (lastTyping[id] && now - lastTyping[id] < TYPING_EVERY) return;
    lastTyping[id] = now;
    fetch("/api/v1/conversations/" + id + "/typing", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": Chat.csrf() }
    }).catch(function () {});
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-composer]");
    if (!form) return;
    event.preventDefault();
    send(form);
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) {
      if (event.key === "Escape" && input.matches && input.matches("[data-edit-input]")) {
        var cancel = input.form.querySelector("[data-edit-cancel]");
        if (cancel) cancel.click();
      }
      return;
    }
    if (input.matches && (input.matches("form[data-composer] textarea") || input.matches("[data-edit-input]"))) {
      event.preventDefault();
      input.form.requestSubmit();
    }
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (!form || event.target.name !== "body") return;
    update(form);
    if (event.target.value.trim()) typing(form);
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-file-input]")) return;
    var form = event.target.form;
    var p = parts(form);
    var file = p.file.files[0];
    p.chip.hidden = !file;
    if (file) form.querySelector("[data-file-name]").textContent = file.name;
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest("[data-file-clear]");
    if (clear) { clearFile(clear.form); return; }
    var retry = event.target.closest("[data-retry]");
    if (!retry) return;
    var bubble = retry.closest(".msg");
    var form = document.querySelector('form[data-composer][data-conversation-id="' + bubble.dataset.conversationId + '"]');
    if (form && payloads.has(bubble)) post(form, bubble);
  });
})();
