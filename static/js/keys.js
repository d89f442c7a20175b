/* Keyboard and touch comfort for the whole app:
 *  - Up-arrow in an empty composer edits your last message (its Edit link, the same as a click);
 *  - Escape cancels an edit (messages.js) or closes the chat panel (panel.js), and closes the switcher;
 *  - Ctrl+K / Cmd+K opens a small quick switcher: type to filter your conversations, Enter opens one;
 *  - a tap on a bubble shows its time on touch screens (the timeline shows one time per run);
 *  - the group form's people picker: a suggestion's Add puts its username in the members field.
 */
(function () {
  "use strict";

  var Chat = window.Chat;

  /* Up-arrow: edit my last message in this conversation. */
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "ArrowUp" || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (!input.matches || !input.matches(".composer__input") || input.value !== "") return;
    var chat = input.closest(".chat");
    if (!chat) return;
    var mine = chat.querySelectorAll('.messages > .msg[data-seq][data-sender-id="' + CSS.escape(Chat.me()) + '"]:not(.msg--deleted)');
    var last = mine[mine.length - 1];
    var edit = last && last.querySelector('.msg__actions a[aria-label="Edit message"]');
    if (!edit) return;
    event.preventDefault();
    edit.click();
  });

  /* A tap on a bubble shows its time (hover does that with a mouse). */
  document.addEventListener("click", function (event) {
    var bubble = event.target.closest && event.target.closest(".msg__bubble");
    if (!bubble || event.target.closest("a, button")) return;
    bubble.closest(".msg").classList.toggle("msg--show-time");
  });

  /* The quick switcher (Ctrl/Cmd+K). */
  var dialog = null;
  function rows() {
    return Array.prototype.map.call(document.querySelectorAll("#conversation-list .conv-row__link"), function (a) {
      var title = a.querySelector(".conv-row__title");
      return { href: a.getAttribute("href"), title: title ? title.textContent.trim() : a.textContent.trim() };
    });
  }
  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "switcher";
    dialog.setAttribute("aria-label", "Jump to a conversation");
    dialog.innerHTML =
      '<form method="dialog" class="switcher__form">' +
      '<label class="visually-hidden" for="switcher-q">Jump to a conversation</label>' +
      '<input class="input switcher__input" id="switcher-q" type="search" autocomplete="off" placeholder="Jump to a conversation…"' +
      ' role="combobox" aria-expanded="true" aria-controls="switcher-list" aria-autocomplete="list">' +
      '<ul class="switcher__list" id="switcher-list" role="listbox" aria-label="Conversations"></ul>' +
      '<p class="switcher__foot"><kbd>↑</kbd> <kbd>↓</kbd> to choose · <kbd>Enter</kbd> to open · <kbd>Esc</kbd> to close · ' +
      '<a href="/new">New chat</a></p></form>';
    document.body.appendChild(dialog);
    var input = dialog.querySelector("input");
    var list = dialog.querySelector("ul");
    var active = 0;
    var shown = [];
    function render() {
      var q = input.value.trim().toLowerCase();
      shown = rows().filter(function (r) { return !q || r.title.toLowerCase().indexOf(q) !== -1; }).slice(0, 8);
      active = Math.min(active, Math.max(shown.length - 1, 0));
      list.innerHTML = "";
      shown.forEach(function (r, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = "switcher-option-" + i;
        li.className = "switcher__option";
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        var a = document.createElement("a");
        a.href = r.href;
        a.tabIndex = -1;
        a.textContent = r.title;
        li.appendChild(a);
        list.appendChild(li);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "switcher__none";
        none.textContent = q ? "No conversation matches. Start one with New chat." : "No conversations yet.";
        list.appendChild(none);
      }
      input.setAttribute("aria-activedescendant", shown.length ? "switcher-option-" + active : "");
    }
    input.addEventListener("input", function () { active = 0; render(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!shown.length) return;
        active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        render();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (shown[active]) window.location.href = shown[active].href;
      }
    });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
    dialog.render = render;
  }
  function openSwitcher() {
    if (!document.getElementById("conversation-list")) return false;
    if (!dialog) build();
    var input = dialog.querySelector("input");
    input.value = "";
    dialog.render();
    if (!dialog.open) dialog.showModal();
    input.focus();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && (event.key === "k" || event.key === "K")) {
      if (openSwitcher()) event.preventDefault();
    }
  });

  /* The new-group form's picker: Add puts a username in the members field (once). */
  Chat.controller("people-picker", function (picker) {
    picker.addEventListener("click", function (event) {
      var button = event.target.closest("[data-pick]");
      if (!button) return;
      var form = picker.closest("form");
      var field = form && form.querySelector('[name="members"]');
      if (!field) return;
      var names = field.value.split(/[\s,]+/).filter(Boolean);
      if (names.indexOf(button.dataset.pick) === -1) names.push(button.dataset.pick);
      field.value = names.join(", ");
      button.textContent = "Added";
      button.disabled = true;
      Chat.announce(button.getAttribute("aria-label").replace(/^Add /, "") + " added.");
    });
  });
})();
