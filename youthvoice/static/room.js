/* Live room: progressive enhancement for /w/{code}, the projector and the facilitator page.
   Without JavaScript every page works by reloading. With it, a server-sent event says
   "something changed" and we fetch this same page and swap the #live part, keeping what the
   person has not sent yet: typed text, ticked boxes, choices, open panels, focus and the caret. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var version = live.getAttribute("data-version");
  var pending = false, busy = false;

  // A control's name across two renderings of the page: its id, else its form, name and value.
  function key(el) {
    if (el.id) return "#" + el.id;
    var form = el.form ? el.form.getAttribute("action") : "";
    var own = el.type === "checkbox" || el.type === "radio" ? el.value : "";
    return form + "|" + el.name + "|" + own + "|" + el.tagName;
  }

  function controls(root) {
    return Array.prototype.filter.call(root.querySelectorAll("input,textarea,select,button,summary,a[href]"),
      function (el) { return el.type !== "hidden"; });
  }

  function writing() {
    var el = document.activeElement;
    return el && live.contains(el) && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && !/^(checkbox|radio|submit|button|reset)$/.test(el.type)));
  }

  function remember() {
    var kept = { values: {}, details: {}, focus: null, start: null, end: null };
    controls(live).forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) kept.values[key(el)] = el.checked;
      } else if (el.tagName === "SELECT") {
        var changed = Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
        if (changed) kept.values[key(el)] = el.value;
      } else if (el.tagName === "TEXTAREA" || el.tagName === "INPUT") {
        if (el.value !== el.defaultValue) kept.values[key(el)] = el.value;
      }
    });
    live.querySelectorAll("details[id]").forEach(function (d) { kept.details[d.id] = d.open; });
    var f = document.activeElement;
    if (f && f !== document.body && live.contains(f)) {
      kept.focus = f.tagName === "SUMMARY" && f.parentNode.id ? "summary:" + f.parentNode.id : key(f);
      try { kept.start = f.selectionStart; kept.end = f.selectionEnd; } catch (e) { /* not a text field */ }
    }
    return kept;
  }

  function restore(kept) {
    var byKey = {};
    controls(live).forEach(function (el) { if (!(key(el) in byKey)) byKey[key(el)] = el; });
    Object.keys(kept.values).forEach(function (k) {
      var el = byKey[k], v = kept.values[k];
      if (!el) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = v; else el.value = v;
    });
    Object.keys(kept.details).forEach(function (id) {
      var d = document.getElementById(id);
      if (d && d.tagName === "DETAILS") d.open = kept.details[id];
    });
    if (kept.focus) {
      var el = kept.focus.indexOf("summary:") === 0
        ? (document.getElementById(kept.focus.slice(8)) || {}).firstElementChild : byKey[kept.focus];
      if (el && el.focus) {
        el.focus({ preventScroll: true });
        if (kept.start !== null && kept.start !== undefined) {
          try { el.setSelectionRange(kept.start, kept.end); } catch (e) { /* not a text field */ }
        }
      }
    }
  }

  // The projector: a statement that does not fit on the wall is hidden whole (never cut in half) and
  // counted in #more, so nothing falls off without a sign.
  function fitWall() {
    var wall = live.querySelector(".wall"), more = document.getElementById("more");
    if (!wall || !more) return;
    var box = wall.getBoundingClientRect(), off = 0;
    Array.prototype.forEach.call(wall.querySelectorAll(".wlist > li"), function (li) {
      li.classList.remove("off");
      var r = li.getBoundingClientRect();
      if (r.bottom > box.bottom + 1 || r.right > box.right + 1 || r.left < box.left - 1) { li.classList.add("off"); off++; }
    });
    more.hidden = !off;
    var n = off;
    try { n = new Intl.NumberFormat(document.documentElement.lang).format(off); } catch (e) { /* plain digits */ }
    more.textContent = off ? (more.getAttribute("data-text") || "").replace("{n}", n) : "";
  }
  fitWall();
  window.addEventListener("resize", fitWall);

  function refresh() {
    // Never swap the field someone is typing in (the phone's keyboard would close): wait until they leave it.
    if (busy || writing()) { pending = true; return; }
    busy = true;
    var page = live.getAttribute("data-page") || window.location.pathname;
    fetch(page, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) { window.location.assign(page); return; }  // e.g. the room closed: another page
        if (writing()) { pending = true; return; }
        var kept = remember(), x = window.scrollX, y = window.scrollY;
        live.innerHTML = fresh.innerHTML;
        ["data-version", "data-status"].forEach(function (a) { live.setAttribute(a, fresh.getAttribute(a)); });
        restore(kept);
        fitWall();
        window.scrollTo(x, y);
        version = fresh.getAttribute("data-version");
      })
      .catch(function () {})
      .then(function () { busy = false; if (pending) { pending = false; setTimeout(refresh, 200); } });
  }

  live.addEventListener("focusout", function () { if (pending) { pending = false; setTimeout(refresh, 300); } });

  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("change", function (e) { if (e.data !== version) refresh(); });
  source.addEventListener("gone", function () { source.close(); });
})();
