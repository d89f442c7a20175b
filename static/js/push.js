/* Web Push on this device: registers the service worker, and the "Notifications on this device" section
 * of the settings (data-controller="push") turns push on (asking the browser's permission only after that
 * click) and off. A subscription is sent to the server once per tab session, so a browser that changed
 * hands (another person signed in) notifies only its new owner.
 */
(function () {
  "use strict";

  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  var registration = null;

  if ("serviceWorker" in navigator && document.body && document.body.dataset.userId) {
    registration = navigator.serviceWorker.register("/service-worker.js", { scope: "/" })
      .catch(function () { return null; });
    if (supported) registration.then(syncOnce);
  }

  function keyBytes(base64url) {
    var text = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function send(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.Chat ? Chat.csrf() : "" }
    });
  }

  /* Tell the server about this browser's subscription once per tab session (it may belong to someone else). */
  function syncOnce(reg) {
    if (!reg || Notification.permission !== "granted") return;
    var mark = "chat.push.synced." + document.body.dataset.userId;
    try { if (sessionStorage.getItem(mark)) return; } catch (e) { /* private mode: sync every time */ }
    reg.pushManager.getSubscription().then(function (sub) {
      if (!sub) return;
      send("/settings/push/subscribe", sub.toJSON()).then(function (response) {
        if (response.ok) { try { sessionStorage.setItem(mark, "1"); } catch (e) { /* ignore */ } }
      });
    });
  }

  /* Signing out stops this browser's pushes for that person first (a shared computer shows nobody's
   * messages afterwards); the sign-out goes ahead whatever happens, within a second and a half. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!supported || !registration || !form.matches || !form.matches('[data-controller~="sign-out"]')) return;
    if (form.dataset.pushReleased) return;
    event.preventDefault();
    form.dataset.pushReleased = "1";
    var submitted = false;
    var proceed = function () { if (!submitted) { submitted = true; form.submit(); } };
    var timer = setTimeout(proceed, 1500);
    registration.then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (sub) {
      if (!sub) return null;
      var endpoint = sub.endpoint;
      return send("/settings/push/unsubscribe", { endpoint: endpoint }).then(function () { return sub.unsubscribe(); });
    }).catch(function () { /* signing out matters more */ }).then(function () {
      clearTimeout(timer);
      try { sessionStorage.removeItem("chat.push.synced." + document.body.dataset.userId); } catch (e) { /* ignore */ }
      proceed();
    });
  }, true);

  if (!window.Chat) return;
  Chat.controller("push", function (el) {
    var on = el.querySelector("[data-push-enable]");
    var off = el.querySelector("[data-push-disable]");
    var status = el.querySelector("[data-push-status]");
    function say(text) { if (status) status.textContent = text; }
    function show(subscribed) {
      if (on) on.hidden = subscribed;
      if (off) off.hidden = !subscribed;
      el.dataset.pushState = subscribed ? "on" : "off";
    }
    if (!supported || !registration) {
      say("This browser cannot receive push notifications.");
      return;
    }
    registration.then(function (reg) {
      if (!reg) { say("This browser cannot receive push notifications here."); return; }
      return reg.pushManager.getSubscription().then(function (sub) {
        show(Boolean(sub));
        if (sub) say("Notifications are on for this device.");
        else if (Notification.permission === "denied") say("Notifications are blocked for this site in the browser's settings.");
      });
    });
    if (on) on.addEventListener("click", function () {
      on.disabled = true;
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") throw new Error("Notifications were not allowed.");
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(el.dataset.key) });
      }).then(function (sub) {
        return send(el.dataset.subscribeUrl, sub.toJSON());
      }).then(function (response) {
        if (!response.ok) throw new Error("The server did not accept this device.");
        show(true);
        say("Notifications are on for this device.");
      }).catch(function (error) {
        say(error && error.message ? error.message : "Notifications could not be turned on.");
      }).then(function () { on.disabled = false; });
    });
    if (off) off.addEventListener("click", function () {
      off.disabled = true;
      navigator.serviceWorker.ready.then(function (reg) {
        return reg.pushManager.getSubscription();
      }).then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () { return send(el.dataset.unsubscribeUrl, { endpoint: endpoint }); });
      }).then(function () {
        show(false);
        say("Notifications are off for this device.");
      }).catch(function () {
        say("Notifications could not be turned off.");
      }).then(function () { off.disabled = false; });
    });
  });
})();
