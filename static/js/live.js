/* The page's one live stream, carried across reconnects.
 *
 * Loaded after htmx and before htmx-ext-sse, so the extension keeps our htmx.createEventSource. When the
 * extension rebuilds a closed EventSource it sends no Last-Event-ID (htmx-extensions #184): we add
 * ?last_event_id=<last id seen> ourselves. The browser's own reconnects send the header as usual.
 *
 * What the stream says goes to the modules as "live:<event>" DOM events on their elements (the HTML of
 * "conversation", "person" and "chat-<id>" events is swapped by htmx itself, sse-swap). The connection's state is
 * "live:connected" (detail: {reconnect}) on the document, and the banner.
 */
(function () {
  "use strict";

  var EVENTS = ["message", "conversation", "person", "member", "read", "typing", "presence", "reset", "session-expired"];
  var lastEventId = null;
  var opened = false;
  var isOpen = false;
  var lostTimer = null;
  var current = null;
  var leaving = false;  // a navigation has begun (e.g. the sign-out form): a reload now would abort it

  function withCursor(url) {
    if (!lastEventId) return url;
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastEventId);
  }

  /* A dropped connection is expected and the banner says so: the extension's error handler runs without
   * the error object, which htmx would otherwise log with console.error on every retry. */
  function quietErrors(source) {
    var handler = null;
    Object.defineProperty(source, "onerror", {
      configurable: true,
      get: function () { return handler; },
      set: function (fn) { handler = fn; }
    });
    source.addEventListener("error", function () { if (handler) handler.call(source, null); });
  }

  htmx.createEventSource = function (url) {
    var source = new EventSource(withCursor(url), { withCredentials: true });
    current = source;
    quietErrors(source);
    EVENTS.forEach(function (name) {
      source.addEventListener(name, function (event) {
        if (event.lastEventId) lastEventId = event.lastEventId;
        if (name === "session-expired") { source.close(); if (!leaving) window.location.reload(); return; }
        if (name !== "conversation" && name !== "person") window.Chat.broadcast("live:" + name, event.data);
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

  function connected() {
    clearTimeout(lostTimer);
    lostTimer = null;
    isOpen = true;
    banner(false);
    var reconnect = opened;
    opened = true;
    // Missed events replay from the cursor; modules fetch quietly what the replay cannot bring back.
    document.dispatchEvent(new CustomEvent("live:connected", { detail: { reconnect: reconnect } }));
    window.Chat.broadcast("live:connected", { reconnect: reconnect });
  }

  window.addEventListener("beforeunload", function () { leaving = true; });
  window.addEventListener("pageshow", function () { leaving = false; });
  document.addEventListener("htmx:sseError", connectionLost);
  document.addEventListener("htmx:sseOpen", connected);
  window.addEventListener("offline", connectionLost);
  window.addEventListener("online", function () {
    // The stream may have survived a short outage; if so, only catch up on what it may have missed.
    if (current && current.readyState === EventSource.OPEN) connected();
  });

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
