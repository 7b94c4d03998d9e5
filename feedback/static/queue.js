// Progressive enhancement for the recovery queue: keep the server-rendered countdowns ticking.
// Without this script the page shows the remaining time as of when it was loaded.
(function () {
  "use strict";
  var root = document.querySelector("[data-server-now]");
  if (!root) return;
  // Count from the server's clock, not the browser's: a laptop five minutes off must not make
  // a task look on time when it is overdue.
  var skew = Date.parse(root.getAttribute("data-server-now")) - Date.now();
  if (isNaN(skew)) skew = 0;

  // The wording comes from the page (the viewer's language): data-t-* templates and digits.
  function text(name, fallback) { return root.getAttribute("data-t-" + name) || fallback; }
  var digits = root.getAttribute("data-digits") || "0123456789";
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? String(values[key]).replace(/[0-9]/g, function (c) {
        return digits.charAt(+c);
      }) : all;
    });
  }
  function span(seconds) {
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600),
        m = Math.floor((seconds % 3600) / 60);
    if (d) return fill(text("dh", "{d} d {h} h"), {d: d, h: h});
    if (h) return fill(text("hm", "{h} h {m} min"), {h: h, m: m});
    return fill(text("m", "{m} min"), {m: m});
  }

  function tick() {
    var now = Date.now() + skew;
    var items = document.querySelectorAll("time[data-due]");
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var left = Math.round((Date.parse(el.getAttribute("data-due")) - now) / 1000);
      el.textContent = left < 0 ? fill(text("overdue", "overdue by {t}"), {t: span(-left)})
                                : fill(text("in", "in {t}"), {t: span(left)});
      el.classList.toggle("is-overdue", left < 0);
      el.classList.toggle("is-soon", left >= 0 && left < 4 * 3600);
      var row = el.closest("tr");
      if (row && row.parentNode && row.parentNode.tagName === "TBODY") {
        row.classList.toggle("overdue-row", left < 0);
        row.classList.toggle("soon-row", left >= 0 && left < 4 * 3600);
      }
    }
  }

  tick();
  setInterval(tick, 30000);
  root.setAttribute("data-live", "1"); // the times on the page now keep themselves current
})();
