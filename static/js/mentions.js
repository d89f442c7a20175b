/* The composer's @ picker (<form data-controller="mention-picker" data-members='[{username, name}]'>): typing
 * "@" and letters offers the conversation's members; ↑/↓ move, Enter or Tab picks, Escape closes, a click
 * picks. Without this script "@username" typed by hand mentions just the same. */
(function () {
  "use strict";

  var MAX = 8;

  window.Chat.controller("mention-picker", function (form) {
    var input = form.querySelector("textarea[name=body]");
    if (!input) return;
    var members = [];
    try { members = JSON.parse(form.dataset.members || "[]"); } catch (e) { members = []; }
    var box = document.createElement("ul");
    box.className = "mention-picker";
    box.id = input.id + "-mentions";
    box.setAttribute("role", "listbox");
    box.setAttribute("aria-label", "People to mention");
    box.hidden = true;
    input.parentNode.insertBefore(box, input);
    input.setAttribute("aria-controls", box.id);
    var choices = [], active = 0, start = -1;

    /* The "@word" being typed just before the caret, or null. */
    function query() {
      var caret = input.selectionStart, text = input.value.slice(0, caret);
      var match = /(^|[^\w@./])@([A-Za-z0-9_]{0,32})$/.exec(text);
      if (!match) return null;
      start = caret - match[2].length - 1;
      return match[2].toLowerCase();
    }

    function close() {
      box.hidden = true;
      choices = [];
      input.removeAttribute("aria-activedescendant");
    }

    function render() {
      box.textContent = "";
      choices.forEach(function (member, i) {
        var li = document.createElement("li");
        li.id = box.id + "-" + i;
        li.className = "mention-picker__choice";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.dataset.username = member.username;
        var handle = document.createElement("strong");
        handle.textContent = "@" + member.username;
        var name = document.createElement("span");
        name.textContent = " " + member.name;
        li.appendChild(handle);
        li.appendChild(name);
        box.appendChild(li);
      });
      box.hidden = choices.length === 0;
      if (!box.hidden) input.setAttribute("aria-activedescendant", box.id + "-" + active);
    }

    function update() {
      var q = query();
      if (q === null) { close(); return; }
      choices = members.filter(function (m) {
        return m.username.indexOf(q) === 0 || (m.name || "").toLowerCase().indexOf(q) === 0;
      }).slice(0, MAX);
      active = 0;
      render();
    }

    function pick(member) {
      var caret = input.selectionStart;
      var inserted = "@" + member.username + " ";
      input.value = input.value.slice(0, start) + inserted + input.value.slice(caret);
      var at = start + inserted.length;
      input.setSelectionRange(at, at);
      close();
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.focus();
    }

    input.addEventListener("input", update);
    input.addEventListener("click", update);
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    // Captured on the form, so that Enter picks a person instead of sending while the list is open.
    form.addEventListener("keydown", function (event) {
      if (event.target !== input || box.hidden || !choices.length) return;
      var key = event.key;
      if (key === "ArrowDown" || key === "ArrowUp") {
        active = (active + (key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
        render();
      } else if (key === "Enter" || key === "Tab") {
        pick(choices[active]);
      } else if (key === "Escape") {
        close();
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
    }, true);
    box.addEventListener("mousedown", function (event) {
      var li = event.target.closest("[data-username]");
      if (!li) return;
      event.preventDefault();  // keep the focus in the composer
      pick(choices[Array.prototype.indexOf.call(box.children, li)]);
    });
  });
})();
