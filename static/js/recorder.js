/* Voice messages and picture drop/paste in the composer (<form data-controller="... recorder">).
 * The record button (shown only where MediaRecorder exists) records Opus in WebM or Ogg, whichever the
 * browser records, with a visible timer, Cancel and Send. Send puts the recording into the composer's file
 * input and submits the form, so it goes the way of any attached file (outbox, size check, retry). The
 * server measures the duration and refuses over 5 minutes; the recorder stops itself at that limit.
 * Pictures dropped on or pasted into the composer are attached the same way.
 */
(function () {
  "use strict";

  var LIMIT_MS = 5 * 60 * 1000;
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg"];

  function clock(ms) {
    var s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function attach(form, file) {
    var input = form.querySelector("[data-file-input]");
    var transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
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
          form.requestSubmit();
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

    /* Pictures dropped on the composer or pasted into it. */
    function picture(files) {
      return Array.prototype.filter.call(files || [], function (f) { return /^image\//.test(f.type); })[0];
    }
    form.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        form.classList.add("is-dropping");
      }
    });
    form.addEventListener("dragleave", function () { form.classList.remove("is-dropping"); });
    form.addEventListener("drop", function (event) {
      form.classList.remove("is-dropping");
      var file = picture(event.dataTransfer && event.dataTransfer.files);
      if (!file) return;
      event.preventDefault();
      attach(form, file);
    });
    form.addEventListener("paste", function (event) {
      var file = picture(event.clipboardData && event.clipboardData.files);
      if (!file) return;
      event.preventDefault();
      attach(form, file);
    });
  });
})();
