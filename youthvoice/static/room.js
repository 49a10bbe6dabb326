/* Live room: progressive enhancement for /w/{code}, the projector and the facilitator page.
   Without JavaScript every page works by reloading. With it, a server-sent event says
   "something changed" and we fetch this same page and swap the #live part. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var version = live.getAttribute("data-version");
  var status = live.getAttribute("data-status");
  var pending = false, busy = false;

  function typing() {
    var el = document.activeElement;
    return el && live.contains(el) && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT");
  }

  function refresh() {
    if (busy) { pending = true; return; }
    if (typing()) { pending = true; return; }
    busy = true;
    fetch(live.getAttribute("data-page") || window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (!fresh || fresh.getAttribute("data-status") !== status) { window.location.assign(live.getAttribute("data-page") || window.location.href); return; }
        var open = {};
        live.querySelectorAll("details[open]").forEach(function (d) { var li = d.closest("[id]"); if (li) open[li.id] = true; });
        live.innerHTML = fresh.innerHTML;
        Object.keys(open).forEach(function (id) {
          var d = document.getElementById(id); d = d && d.querySelector("details"); if (d) d.open = true;
        });
        version = fresh.getAttribute("data-version");
      })
      .catch(function () {})
      .then(function () { busy = false; if (pending) { pending = false; setTimeout(refresh, 200); } });
  }

  live.addEventListener("focusout", function () { if (pending) { pending = false; setTimeout(refresh, 300); } });

  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("change", function (e) {
    if (e.data !== version) refresh();
  });
  source.addEventListener("gone", function () { source.close(); });
})();
