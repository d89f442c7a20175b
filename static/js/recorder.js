/* Voice messages: recording them in the composer, and playing them (and any audio file) in the timeline.
 *
 * The record button (<form data-controller="... recorder">, shown only where MediaRecorder exists) records
 * Opus in WebM or Ogg, whichever the browser records, with a visible timer, Cancel and Send. Send hands the
 * recording to the composer's tray, so it goes the way of any attached file (size check, upload, outbox),
 * and the message is sent once it has uploaded. The server measures the duration and refuses over 5
 * minutes; the recorder stops itself at that limit.
 *
 * The playback bubble (<div data-controller="voice-player">, with the measured [data-duration-ms], around the <audio controls>
 * element that works without this script): a play/pause button, a seek bar and "elapsed / total", where the
 * total is the duration the server measured. (A browser's own recording often declares no duration, so
 * its native controls show no length and cannot seek.)
 */
(function () {
  "use strict";

  var LIMIT_MS = 5 * 60 * 1000;
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg"];

  function clock(ms) {
    var s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  /* The recording goes to the composer's tray and is sent as soon as it has uploaded. */
  function attach(form, file) {
    form.dispatchEvent(new CustomEvent("composer:attach", { detail: { files: [file], send: true } }));
  }

  window.Chat.controller("recorder", function (form) {
    var start = form.querySelector("[data-record-start]");
    var bar = form.querySelector("[data-recording]");
    var timer = form.querySelector("[data-record-timer]");
    var recorder = null, chunks = [], started = 0, tick = null, keep = false;

    if (start && window.MediaRecorder && navigator.mediaDevices) {
      start.hidden = false;
      start.addEventListener("click", begin);
      form.querySelector("[data-record-cancel]").addEventListener("click", function () { finish(false); });
      form.querySelector("[data-record-send]").addEventListener("click", function () { finish(true); });
    }

    function begin() {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var type = TYPES.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0];
        var current = recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
        chunks = [];
        recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          if (!keep || !chunks.length) return;
          var mime = (current.mimeType || "").split(";")[0] || "audio/webm";
          var name = "Voice message " + new Date().toISOString().slice(0, 19).replace("T", " ") +
                     (mime.indexOf("ogg") >= 0 ? ".ogg" : ".webm");
          attach(form, new File(chunks, name, { type: mime }));
        };
        recorder.start(1000);
        started = Date.now();
        timer.textContent = "0:00";
        bar.hidden = false;
        start.hidden = true;
        tick = setInterval(function () {
          var elapsed = Date.now() - started;
          timer.textContent = clock(elapsed);
          if (elapsed >= LIMIT_MS) finish(true);
        }, 250);
      }).catch(function () {
        var error = form.querySelector("[data-composer-error]");
        error.textContent = "The microphone can't be used. Allow it in the browser to record a voice message.";
        error.hidden = false;
      });
    }

    function finish(send) {
      if (!recorder) return;
      keep = send;
      clearInterval(tick);
      bar.hidden = true;
      start.hidden = false;
      if (recorder.state !== "inactive") recorder.stop();
      recorder = null;
    }
  });

  /* The playback bubble. */
  window.Chat.controller("voice-player", function (box) {
    var audio = box.querySelector("audio");
    if (!audio) return;
    var measured = box.querySelector("[data-duration-ms]");
    var total = measured ? parseInt(measured.dataset.durationMs, 10) || 0 : 0;
    var play = document.createElement("button");
    play.type = "button";
    play.className = "voice__play";
    play.setAttribute("data-voice-play", "");
    var seek = document.createElement("input");
    seek.type = "range";
    seek.className = "voice__seek";
    seek.setAttribute("data-voice-seek", "");
    seek.min = "0";
    seek.step = "10";
    seek.value = "0";
    seek.setAttribute("aria-label", "Seek");
    var time = document.createElement("span");
    time.className = "voice__time";
    time.setAttribute("data-voice-time", "");
    var seeking = false;

    function length() {
      return total || (isFinite(audio.duration) ? Math.round(audio.duration * 1000) : 0);
    }
    function render() {
      var ms = Math.round(audio.currentTime * 1000);
      seek.max = String(length() || 1);
      if (!seeking) seek.value = String(Math.min(ms, length()));
      time.textContent = clock(seeking ? +seek.value : ms) + " / " + clock(length());
      var playing = !audio.paused && !audio.ended;
      play.textContent = playing ? "❚❚" : "►";
      play.setAttribute("aria-label", playing ? "Pause" : "Play");
      box.classList.toggle("is-playing", playing);
    }

    play.addEventListener("click", function () {
      if (audio.paused || audio.ended) {
        // One voice message at a time, as in a phone's messenger.
        document.querySelectorAll("[data-controller~='voice-player'] audio").forEach(function (other) {
          if (other !== audio) other.pause();
        });
        audio.play().catch(function () { render(); });
      } else {
        audio.pause();
      }
    });
    seek.addEventListener("input", function () { seeking = true; render(); });
    seek.addEventListener("change", function () {
      seeking = false;
      audio.currentTime = +seek.value / 1000;
      render();
    });
    ["timeupdate", "play", "pause", "ended", "loadedmetadata", "durationchange", "seeked"].forEach(function (type) {
      audio.addEventListener(type, render);
    });
    audio.addEventListener("ended", function () { audio.currentTime = 0; });

    audio.controls = false;
    var bar = document.createElement("div");
    bar.className = "voice";
    bar.append(play, seek, time);
    audio.after(bar);
    if (measured) measured.hidden = true;  // the player says it
    render();
  });
})();
