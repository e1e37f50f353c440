// Progressive enhancement only: the console works without this file.
// 1. Elements with data-expires-at show a live "time left" countdown.
// 2. A region marked data-autorefresh="<seconds>" reloads its content from the server (the same URL) in place,
//    and the page title keeps the count from data-count.
// 3. A region marked data-live-url polls that small JSON state; when the request is decided elsewhere (or gains
//    an approval) the page says so and, once decided, the decide forms go.
// 4. Keyboard shortcuts on an approval page (listed on the page): a, r, p, q, and Ctrl+Enter in a reason box.
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
  function live(region) {
    var seconds = parseInt(region.getAttribute("data-live-seconds"), 10) || 5;
    var url = region.getAttribute("data-live-url");
    var timer = setInterval(function () {
      if (document.hidden) return;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state) return;
          var note = document.getElementById("live-note");
          if (!state.pending) {
            clearInterval(timer);
            region.querySelectorAll("form.decide-form, .shortcuts").forEach(function (el) { el.remove(); });
            region.removeAttribute("data-live-url");
            region.setAttribute("data-status", state.status);
            if (note) {
              note.textContent = state.message + " It was decided elsewhere while this page was open; nothing you typed was sent.";
              note.className = "live-note message message-warning";
            }
            var badge = document.getElementById("approval-status");
            if (badge) { badge.textContent = state.status_label; badge.className = "state state-" + state.status; }
            var deadline = document.getElementById("deadline");
            if (deadline) deadline.remove();
            var quorum = document.getElementById("quorum-text");
            if (quorum) quorum.textContent = state.approvals + " of " + state.required_approvals + " approvals";
          } else if (String(state.approvals) !== region.getAttribute("data-approvals")) {
            region.setAttribute("data-approvals", String(state.approvals));
            var q = document.getElementById("quorum-text");
            if (q) q.textContent = state.approvals + " of " + state.required_approvals + " approvals";
            if (note) note.textContent = "Another reviewer approved: " + state.approvals + " of " + state.required_approvals + ".";
          }
        })
        .catch(function () {});
    }, seconds * 1000);
  }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  function shortcuts(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var focus = { a: "approve-reason", r: "reject-reason" }[event.key];
    if (focus && document.getElementById(focus)) {
      event.preventDefault();
      document.getElementById(focus).focus();
    } else if (event.key === "p") {
      var details = document.querySelector("details.full-params");
      if (details) { details.open = !details.open; details.querySelector("summary").focus(); }
    } else if (event.key === "q") {
      var back = document.querySelector(".crumbs a");
      if (back) window.location.href = back.href;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("[data-autorefresh]").forEach(refresh);
    document.querySelectorAll("[data-live-url]").forEach(live);
    if (document.getElementById("decision-region")) document.addEventListener("keydown", shortcuts);
  });
})();
