// Live updates for an open incident page: poll the incident's version and
// reload when it changes, unless someone is typing in a form. The page works
// the same without this script (reload by hand).
(function () {
  var meta = document.querySelector('meta[name="sitrep-version"]');
  if (!meta) return;
  var url = location.pathname.replace(/\/$/, '') + '/version';
  var current = meta.getAttribute('content');
  var every = parseInt(meta.getAttribute('data-poll-ms'), 10) || 5000;
  setInterval(function () {
    var active = document.activeElement;
    if (active && active.form) return;
    if (document.querySelector('details[open] form, .correcting')) return;
    fetch(url, {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (v) {
      if (v && v !== current) location.reload();
    }).catch(function () {});
  }, every);
})();
