/* The reaction picker: the "React" link of a message (data-controller="reactions") opens a row of common
 * emoji and a box for any other one; picking posts to the link's URL (the same route the plain form uses)
 * and htmx swaps in the re-rendered message. Without JavaScript the link opens that form as a page.
 */
(function () {
  "use strict";

  var COMMON = ["👍", "❤️", "😂", "😮", "😢", "🙏", "🎉", "👀"];

  function button(url, emoji) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "reaction-picker__emoji";
    b.textContent = emoji;
    b.setAttribute("aria-label", "React with " + emoji);
    b.setAttribute("hx-post", url);
    b.setAttribute("hx-vals", JSON.stringify({ emoji: emoji }));
    b.setAttribute("hx-target", "closest .msg");
    b.setAttribute("hx-swap", "outerHTML");
    return b;
  }

  function picker(link) {
    var url = link.dataset.reactUrl;
    var box = document.createElement("div");
    box.className = "reaction-picker";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Pick a reaction");
    COMMON.forEach(function (emoji) { box.appendChild(button(url, emoji)); });
    var other = document.createElement("input");
    other.className = "reaction-picker__other";
    other.maxLength = 32;
    other.placeholder = "Other…";
    other.setAttribute("aria-label", "Another emoji");
    other.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || !other.value.trim()) return;
      event.preventDefault();
      var b = button(url, other.value.trim());
      b.hidden = true;
      box.appendChild(b);
      htmx.process(b);
      b.click();
    });
    box.appendChild(other);
    return box;
  }

  Chat.controller("reactions", function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var open = link.parentNode.querySelector(".reaction-picker");
      if (open) { open.remove(); return; }
      var box = picker(link);
      link.parentNode.appendChild(box);
      htmx.process(box);
      box.querySelector("button").focus();
      box.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { box.remove(); link.focus(); }
      });
    });
  });
})();
