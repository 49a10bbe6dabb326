/* The survey form keeps what a young person has entered in this browser tab only (sessionStorage: never
   a cookie, nothing to the server before Send), so a reload, a phone that dropped the tab, or Back after
   a language switch brings the answers back and says so. Nothing is kept on a shared device, and the
   copy is removed on the thank-you page. Send with a goal question blank asks once before sending.
   Inlined in the page (allowed by its CSP hash): no extra request. Without JavaScript the form works as before. */
(function () {
  var store;
  try { store = window.sessionStorage; store.getItem('x'); } catch (e) { return; }
  var sent = document.querySelector('[data-survey-sent]');
  if (sent) { store.removeItem('yv-answers:' + sent.getAttribute('data-survey-sent')); return; }
  var form = document.getElementById('answer');
  if (!form) return;
  var key = 'yv-answers:' + form.getAttribute('data-survey');
  function fields() { return [].filter.call(form.elements, function (e) { return /^q_/.test(e.name); }); }
  function ticks(e) { return e.type === 'radio' || e.type === 'checkbox'; }
  function given(e) { return ticks(e) ? e.checked : e.value !== ''; }
  function save() {
    var kept = {};
    fields().forEach(function (e) { if (given(e)) (kept[e.name] = kept[e.name] || []).push(e.value); });
    try { store.setItem(key, JSON.stringify(kept)); } catch (e) { /* full or refused: the form still works */ }
  }
  if (!form.hasAttribute('data-keep')) { store.removeItem(key); } else {
    var kept = null, back = 0, answered = {};
    try { kept = JSON.parse(store.getItem(key) || 'null'); } catch (e) { kept = null; }
    // What the page itself shows wins (answers re-posted by a language switch or an error page).
    fields().forEach(function (e) { if (given(e)) answered[e.name] = true; });
    if (kept) fields().forEach(function (e) {
      var v = kept[e.name];
      if (!v || answered[e.name]) return;
      if (ticks(e)) { if (v.indexOf(e.value) >= 0) { e.checked = true; back++; } } else { e.value = v[0]; back++; }
    });
    var note = document.getElementById('kept');
    if (back && note) {
      note.hidden = false;
      note.querySelector('button').addEventListener('click', function () {
        fields().forEach(function (e) { if (ticks(e)) e.checked = false; else e.value = ''; });
        store.removeItem(key);
        note.hidden = true;
      });
    }
    form.addEventListener('input', save);
    form.addEventListener('change', save);
    save();
  }
  // Send with a goal question blank: say which ones, once; a second press sends (they may be skipped).
  var warned = '';
  form.addEventListener('submit', function (ev) {
    var by = ev.submitter;
    var box = document.getElementById('blank');
    if (!box || !by || by.value !== 'send') return;
    var blank = [].filter.call(form.querySelectorAll('[data-goal]'), function (q) {
      return !q.querySelector('input:checked') && !(q.querySelector('textarea') || {}).value;
    });
    var names = blank.map(function (q) { return q.id; }).join(' ');
    if (!blank.length || names === warned) return;
    ev.preventDefault();
    warned = names;
    var list = box.querySelector('ul');
    list.textContent = '';
    blank.forEach(function (q) {
      var li = document.createElement('li'), a = document.createElement('a'), page = q.closest('section');
      a.href = '#' + (page ? page.id : q.id);
      a.textContent = (q.querySelector('legend bdi, label bdi') || q).textContent;
      a.addEventListener('click', function () { setTimeout(function () { (q.querySelector('input') || q).focus(); }, 0); });
      li.appendChild(a);
      list.appendChild(li);
    });
    box.hidden = false;
    box.focus();
  });
})();
