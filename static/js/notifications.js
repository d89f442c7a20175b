/* Desktop notifications while the tab is hidden (<button data-controller="notifications">, "Enable
 * notifications"): permission is asked only after that click. A new message notifies when the tab is hidden,
 * it is someone else's (never a system line), and the conversation's level allows it: the list row carries
 * the level (data-notify, kept fresh by conversation.updated) and the message partial whom it mentions
 * (data-mentions). An optional sound (off by default) is made on the spot. Clicking a notification focuses
 * the tab and opens that conversation at that message. */
(function () {
  "use strict";

  var Chat = window.Chat;
  var SOUND_KEY = "chat.notify.sound";
  var notified = {};
  Chat.notified = [];  // what was shown, newest last: {title, body, url}

  function supported() { return "Notification" in window; }
  function granted() { return supported() && Notification.permission === "granted"; }

  function shouldNotify(el) {
    if (!el || el.classList.contains("msg--system") || el.classList.contains("msg--deleted")) return false;
    if (!el.dataset.senderId || el.dataset.senderId === Chat.me() || notified[el.id]) return false;
    var row = document.getElementById("conversation-" + el.dataset.conversationId);
    var seq = parseInt(el.dataset.seq || "0", 10);
    // An edit or a reaction re-renders a message the list has already counted: only new ones notify.
    if (row && seq <= parseInt(row.dataset.lastSeq || "0", 10)) return false;
    var mentioned = (el.dataset.mentions || "").split(" ").indexOf(Chat.me()) >= 0;
    var level = row ? row.dataset.notify : "mentions";  // not in the list (archived): only a mention
    return level === "all" || (level === "mentions" && mentioned);
  }

  function beep() {
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      var ctx = new Audio(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio: silence */ }
  }

  function show(el) {
    notified[el.id] = true;
    var row = document.getElementById("conversation-" + el.dataset.conversationId);
    var sender = el.querySelector(".msg__sender");
    var place = row && row.querySelector(".conv-row__title");
    var who = sender ? sender.textContent : "New message";
    var title = place && place.textContent !== who ? who + " in " + place.textContent : who;
    var body = el.querySelector(".msg__body");
    var text = body ? body.textContent.trim().slice(0, 200) : "Sent an attachment";
    var url = "/c/" + el.dataset.conversationId + "?at=" + el.dataset.seq + "#" + el.id;
    var note = new Notification(title, { body: text, tag: el.id });
    note.onclick = function () {
      window.focus();
      note.close();
      window.location.assign(url);
    };
    Chat.notified.push({ title: title, body: text, url: url });
    if (localStorage.getItem(SOUND_KEY) === "on") beep();
  }

  Chat.controller("notifications", function (button) {
    if (!supported()) return;
    var sound = document.createElement("label");
    sound.className = "notify-sound";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = localStorage.getItem(SOUND_KEY) === "on";
    box.addEventListener("change", function () { localStorage.setItem(SOUND_KEY, box.checked ? "on" : "off"); });
    sound.appendChild(box);
    sound.appendChild(document.createTextNode(" Sound"));
    button.after(sound);

    function state() {
      button.hidden = granted() || Notification.permission === "denied";
      sound.hidden = !granted();
    }
    button.addEventListener("click", function () {
      Notification.requestPermission().then(state);
    });
    button.addEventListener("live:message", function (event) {
      if (!granted() || document.visibilityState !== "hidden") return;
      var el = Chat.parse(event.detail).querySelector("li.msg");
      if (shouldNotify(el)) show(el);
    });
    state();
  });
})();
