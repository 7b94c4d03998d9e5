// The survey page's only script. It never answers anything: a score is recorded only by a tap on
// "Confirm"/"Send" (mail scanners run pages' scripts in real browsers, so nothing may happen on
// load). It reports the first sign of a person — a pointer, touch or key event — so that the
// invitation counts as opened, which a scanner's fetch no longer does.
(function () {
  var form = document.getElementById("survey-form");
  if (!form || !form.dataset.seen) return;
  var sent = false;
  function seen() {
    if (sent) return;
    sent = true;
    ["pointerdown", "touchstart", "keydown"].forEach(function (e) {
      document.removeEventListener(e, seen, true);
    });
    if (navigator.sendBeacon) { navigator.sendBeacon(form.dataset.seen); return; }
    if (window.fetch) { fetch(form.dataset.seen, { method: "POST", credentials: "same-origin" }); }
  }
  ["pointerdown", "touchstart", "keydown"].forEach(function (e) {
    document.addEventListener(e, seen, true);
  });
})();
