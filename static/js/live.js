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
  var isOpen = false;
  var lostTimer = null;
  var current = null;

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
    current = source;
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
    isOpen = false;
    if (lostTimer) return;
    lostTimer = setTimeout(function () { banner(true); }, navigator.onLine ? 1500 : 0);
  }

  document.addEventListener("htmx:sseError", connectionLost);
  window.addEventListener("offline", connectionLost);
  window.addEventListener("online", function () {
    // The stream may have survived a short outage; if so, only catch up on what it may have missed.
    if (current && current.readyState === EventSource.OPEN) connected();
  });
  document.addEventListener("htmx:sseOpen", connected);

  function connected() {
    clearTimeout(lostTimer);
    lostTimer = null;
    isOpen = true;
    banner(false);
    var reconnect = opened;
    opened = true;
    // Missed events replay from the cursor; a quiet fetch of what the open conversation gained covers the rest.
    if (window.Chat && window.Chat.catchUp) window.Chat.catchUp(reconnect ? "reconnect" : "open");
  }

  window.ChatLive = {
    lastEventId: function () { return lastEventId; },
    isOpen: function () { return isOpen; },
    // Drop the connection as a network failure would: the extension reconnects (with our cursor) after
    // its back-off. Tests use it; it is also handy from the console.
    cut: function () {
      if (!current) return;
      current.close();
      current.dispatchEvent(new Event("error"));
    }
  };
})();
