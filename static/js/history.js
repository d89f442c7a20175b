/* A conversation's history (<ol class="messages" data-controller="history">): older pages load as the reader
 * scrolls up (htmx fetches the "load older" link's fragment), keeping what they were reading in place; a
 * reader at the bottom stays there while pictures load. */
(function () {
  "use strict";

  function nearBottom(list) { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }

  window.Chat.controller("history", function (list) {
    function maybeLoadOlder() {
      var link = list.querySelector(":scope > .load-older [data-load-older]");
      if (!link || link.classList.contains("htmx-request") || list.dataset.loading) return;
      if (list.scrollTop < 400 || list.scrollHeight <= list.clientHeight) {
        list.dataset.loading = "1";
        htmx.trigger(link, "load-older");
      }
    }

    list.addEventListener("scroll", function () {
      list.dataset.stuck = nearBottom(list) ? "1" : "";
      maybeLoadOlder();
    });
    list.addEventListener("load", function (event) {  // load does not bubble: listen while it is captured
      if (event.target.tagName === "IMG" && list.dataset.stuck !== "") list.scrollTop = list.scrollHeight;
    }, true);
    list.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (target && target.classList && target.classList.contains("load-older")) {
        list.dataset.anchor = String(list.scrollHeight - list.scrollTop);
      }
    });
    list.addEventListener("htmx:afterSwap", function () {
      if (!list.dataset.anchor) return;
      var anchor = parseInt(list.dataset.anchor, 10);
      delete list.dataset.anchor;
      delete list.dataset.loading;
      list.dispatchEvent(new CustomEvent("chat:changed", { bubbles: true }));  // day separators, runs
      list.scrollTop = list.scrollHeight - anchor;
      setTimeout(maybeLoadOlder, 50);
    });
    list.addEventListener("htmx:afterRequest", function (event) {
      if (!event.detail.successful) delete list.dataset.loading;
    });
    setTimeout(maybeLoadOlder, 100);
  });
})();
