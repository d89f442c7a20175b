/* The service worker: shows Web Push messages as notifications and opens the conversation on a click.
 *
 * It caches nothing and handles no fetch: pages always come from the server, online or not. A push's
 * data is the JSON of the contract ({conversation_id, message_id, seq, title, body, url}); notifications of
 * one conversation replace each other (tag), so a busy chat shows one, not a pile.
 */
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "Chat";
  var options = {
    body: data.body || "",
    icon: "/static/img/icon-192.png",
    badge: "/static/img/icon-192.png",
    tag: data.conversation_id ? "conversation-" + data.conversation_id : "chat",
    renotify: Boolean(data.conversation_id),
    data: { url: sameOrigin(data.url) }
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      var win = windows[i];
      if (new URL(win.url).origin === self.location.origin && "focus" in win) {
        return win.focus().then(function (focused) {
          return focused && "navigate" in focused ? focused.navigate(url) : focused;
        });
      }
    }
    return self.clients.openWindow(url);
  }));
});

/* Only paths of this app are opened: a push names a conversation here, never another site. */
function sameOrigin(url) {
  try {
    var target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.pathname + target.search + target.hash : "/";
  } catch (e) {
    return "/";
  }
}
