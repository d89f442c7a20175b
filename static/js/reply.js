/* Replies: "Reply" on a message (data-controller="reply") quotes it above its conversation's composer;
 * the composer (data-controller="reply-target") sends the quoted id with the next message (reply_to_id)
 * and then forgets it. "Cancel reply" and Escape forget it too.
 */
(function () {
  "use strict";

  function clear(form) {
    var chip = form.querySelector("[data-reply-chip]");
    if (!chip) return;
    chip.hidden = true;
    form.querySelector("[data-reply-to]").value = "";
    form.querySelector("[data-reply-excerpt]").textContent = "";
  }

  Chat.controller("reply", function (link) {
    link.hidden = false;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var chat = link.closest(".chat") || document;
      var form = chat.querySelector("form[data-composer]");
      if (!form) return;
      form.querySelector("[data-reply-to]").value = link.dataset.messageId;
      form.querySelector("[data-reply-excerpt]").textContent = link.dataset.excerpt || "an attachment";
      form.querySelector("[data-reply-chip]").hidden = false;
      var input = form.querySelector("textarea");
      if (input) input.focus();
    });
  });

  Chat.controller("reply-target", function (form) {
    form.addEventListener("reply:clear", function () { clear(form); });
    var button = form.querySelector("[data-reply-clear]");
    if (button) button.addEventListener("click", function () { clear(form); });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !form.querySelector("[data-reply-chip]").hidden) clear(form);
    });
  });
})();
