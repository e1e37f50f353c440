// Progressive enhancement only: the console works without this file.
// 1. Elements with data-expires-at show a live "time left" countdown.
// 2. A region marked data-autorefresh="<seconds>" reloads its content from the server (the same URL) in place,
//    and the page title keeps the count from data-count.
(function () {
  "use strict";
  function fmt(ms) {
    if (ms <= 0) return "expired";
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    if (h > 0) return h + " h " + m + " min left";
    if (m > 0) return m + " min " + (s % 60) + " s left";
    return (s % 60) + " s left";
  }
  function tick() {
    document.querySelectorAll("[data-expires-at]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-expires-at")) - Date.now();
      el.textContent = fmt(left);
      el.classList.toggle("expired", left <= 0);
    });
  }
  function busy(region) {
    // Never pull the page from under the reader: not while focus is inside the region or a <details> is open.
    var active = document.activeElement;
    return (active && active !== document.body && region.contains(active)) || region.querySelector("details[open]");
  }
  function refresh(region) {
    var seconds = parseInt(region.getAttribute("data-autorefresh"), 10) || 15;
    var timer = setInterval(function () {
      if (document.hidden || busy(region)) return;
      fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(region.id);
          if (fresh) {
            region.innerHTML = fresh.innerHTML;
            tick();
            if (!fresh.hasAttribute("data-autorefresh")) clearInterval(timer); // e.g. the run finished
          }
          if (doc.title) document.title = doc.title;
        })
        .catch(function () {});
    }, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("[data-autorefresh]").forEach(refresh);
  });
})();
