/* The page shell: small client modules bound to the elements that declare them, CSRF, local times,
 * presence dots, broken avatars, announcements.
 *
 * A module registers with Chat.controller("name", connect); every element with data-controller="name"
 * (on the first page and in any fragment htmx swaps in later) is passed to connect(element) once. A
 * module keeps its state on, and listens on, its own element, so nothing outlives the element. Stream
 * events reach modules as "live:<event>" DOM events dispatched on each [data-controller] element
 * (static/js/live.js).
 */
(function () {
  "use strict";

  var controllers = {};
  var connected = new WeakMap();
  var presence = {};

  var Chat = (window.Chat = {
    controller: function (name, connect) { controllers[name] = connect; },
    /* Connect the modules of content put in place without an htmx swap (messages from the stream). */
    connect: function (root) { connectAll(root); },
    me: function () { return document.body.dataset.userId || ""; },
    csrf: function () {
      var meta = document.querySelector('meta[name="csrf-token"]');
      return meta ? meta.content : "";
    },
    parse: function (html) {
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      return template.content;
    },
    /* A POST of a form body with the page's CSRF token, marked as an htmx request (fragments, HX-Redirect). */
    post: function (url, body) {
      return fetch(url, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": Chat.csrf(), "HX-Request": "true" }
      });
    },
    /* Announce in the polite live region (new messages, send failures). */
    announce: function (text) {
      var region = document.getElementById("announcer");
      if (!region) return;
      region.textContent = "";
      setTimeout(function () { region.textContent = text; }, 50);
    },
    formatTimes: formatTimes,
    /* Dispatch a DOM event on every module element (or those of one module). */
    broadcast: function (type, detail, name) {
      var selector = name ? '[data-controller~="' + name + '"]' : "[data-controller]";
      document.querySelectorAll(selector).forEach(function (el) {
        el.dispatchEvent(new CustomEvent(type, { detail: detail }));
      });
    }
  });

  function connectAll(root) {
    var found = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll("[data-controller]")) : [];
    if (root.matches && root.matches("[data-controller]")) found.unshift(root);
    found.forEach(function (el) {
      var done = connected.get(el) || {};
      el.dataset.controller.split(/\s+/).forEach(function (name) {
        if (!name || done[name] || !controllers[name]) return;
        done[name] = true;
        controllers[name](el);
      });
      connected.set(el, done);
    });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = Chat.csrf();
  });

  /* Times: the server writes UTC; people read their own time zone. */
  function sameDay(a, b) { return a.toDateString() === b.toDateString(); }
  function formatTime(el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date)) return;
    var now = new Date();
    var text = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    if (el.classList.contains("conv-row__time") && !sameDay(date, now)) {
      var days = (now - date) / 86400000;
      text = days < 6 ? date.toLocaleDateString([], { weekday: "short" })
        : date.toLocaleDateString([], { month: "short", day: "numeric" });
    }
    el.textContent = text;
    el.title = date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
  }
  function formatTimes(root) {
    (root.matches && root.matches("time[datetime]") ? [root] : root.querySelectorAll("time[datetime]"))
      .forEach(formatTime);
  }

  /* Presence dots, kept in a map so rows and headers swapped in later show the right state. */
  function applyPresence(root) {
    root.querySelectorAll("[data-presence-user]").forEach(function (dot) {
      var id = dot.dataset.presenceUser;
      if (!presence[id] && dot.dataset.status) presence[id] = dot.dataset.status;  // what the page knew
      if (presence[id]) dot.dataset.status = presence[id];
    });
    root.querySelectorAll("[data-presence-label]").forEach(function (label) {
      var status = presence[label.dataset.presenceLabel];
      label.textContent = status && status !== "offline" ? status : "";
    });
  }
  Chat.controller("presence", function (el) {
    el.addEventListener("live:presence", function (event) {
      var payload = JSON.parse(event.detail);
      presence[payload.user_id] = payload.status;
      applyPresence(document);
    });
  });

  /* A picture that cannot load leaves its avatar's initials showing (load errors do not bubble). */
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img.tagName === "IMG" && img.parentElement && img.parentElement.classList.contains("avatar")) img.remove();
  }, true);
  function dropBrokenAvatars(root) {  // those that failed before this script ran
    root.querySelectorAll(".avatar > img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) img.remove();
    });
  }

  htmx.onLoad(function (root) {
    if (!root.querySelectorAll) return;
    formatTimes(root);
    dropBrokenAvatars(root);
    applyPresence(root.parentElement || root);
    connectAll(root);
  });
})();
