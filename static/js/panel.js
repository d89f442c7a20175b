/* The chat panel beside a profile card (<aside data-controller="panel">): the Message button's response is
 * swapped into it by htmx; it slides open, focuses the composer, and closes with its button (the back arrow
 * on phones) or Escape, which puts back the hint that was there and returns focus to the Message button. */
(function () {
  "use strict";

  window.Chat.controller("panel", function (panel) {
    var hint = panel.innerHTML;

    panel.addEventListener("htmx:afterSwap", function (event) {
      if (event.target !== panel) return;
      var chat = panel.querySelector(".chat");
      if (!chat) return;
      panel.classList.add("is-open");
      var input = chat.querySelector("textarea");
      if (input) input.focus({ preventScroll: true });
    });

    function close() {
      panel.classList.remove("is-open");
      panel.innerHTML = hint;
      var button = document.querySelector("[data-message-button]");
      if (button) button.focus();
    }
    panel.addEventListener("click", function (event) {
      if (event.target.closest("[data-close-panel]")) close();
    });
    panel.addEventListener("panel:close", close);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && panel.classList.contains("is-open") && !event.target.closest(".msg--editing")) close();
    });
  });
})();
