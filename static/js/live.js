/* The page's one live stream, carried across reconnects.
 *
 * Loaded after htmx and before htmx-ext-sse, so the extension keeps our htmx.createEventSource. When the
 * extension rebuilds a closed EventSource it sends no Last-Event-ID (htmx-extensions #184): we add
 * ?last_event_id=<last id seen> ourselves. The browser's own reconnects send the header as usual.
 */
(function () {
  "use strict";

  var EVENTS = ["message", "conversation", "member", "read", "typing", "presence", "reset", "session-expired"];
  var lastEventId = null;
  var opened = false;
  var lostTimer = null;

  function withCursor(url) {
    if (!lastEventId) return url;
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastEventId);
  }

  function dispatch(name, event) {
    var handlers = window.Chat && window.Chat.live;
    if (handlers && handlers[name]) handlers[name](event.data, event);
  }

  htmx.createEventSource = function (url) {
    var source = new EventSource(withCursor(url), { withCredentials: true });
    EVENTS.forEach(function (name) {
      source.addEventListener(name, function (event) {
        if (event.lastEventId) lastEventId = event.lastEventId;
        if (name === "session-expired") source.close();
        if (name !== "conversation") dispatch(name, event);  // "conversation" is swapped by htmx (sse-swap)
        else dispatch("conversationSwapped", event);
      });
    });
    return source;
  };

  function banner(show) {
    var el = document.getElementById("connection-banner");
    if (el) el.hidden = !show;
  }

  function connectionLost() {
    if (lostTimer) return;
    lostTimer = setTimeout(function () { banner(true); }, navigator.onLine ? 1500 : 0);
  }

  document.addEventListener("htmx:sseError", connectionLost);
  window.addEventListener("offline", connectionLost);
  document.addEventListener("htmx:sseOpen", function () {
    clearTimeout(lostTimer);
    lostTimer = null;
    banner(false);
    var reconnect = opened;
    opened = true;
    // Missed events replay from the cursor; a quiet fetch of what the open conversation gained covers the rest.
    if (window.Chat && window.Chat.catchUp) window.Chat.catchUp(reconnect ? "reconnect" : "open");
  });

  window.ChatLive = { lastEventId: function () { return lastEventId; } };
})();
