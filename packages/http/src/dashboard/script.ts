/**
 * The dashboard's script, plain browser JavaScript. It follows `/v1/events` through `fetch` (not
 * `EventSource`, which cannot send the bearer token) and, after any event, reads `/v1/snapshot` again
 * (the view answers from memory); ttls and staleness count down every second on the server's clock.
 * A ttl counts down to the deadline the view holds (the record's own expiry, or a later one the view
 * learned by probing the store), read again just after it passes, by when the view has moved it.
 * Every value reaches the page through `textContent`, never as HTML.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var base = document.body.getAttribute('data-base') || '';
  var $ = function (id) { return document.getElementById(id); };
  var token = null;
  var snapshot = null;
  var clockOffset = 0;
  var refetchTimer = null;
  var streamAbort = null;
  var lastDueReload = 0;
  var deadlineTimer = null;
  var STATUSES = ['up', 'starting', 'draining', 'down'];

  var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    token = decodeURIComponent(fromHash[1]);
    try { sessionStorage.setItem('service-registry-token', token); } catch (e) {}
    history.replaceState(null, '', location.pathname + location.search);
  } else {
    try { token = sessionStorage.getItem('service-registry-token'); } catch (e) {}
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (cell) { tr.appendChild(cell instanceof Node ? wrap(cell) : el('td', '', cell)); });
    return tr;
  }
  function wrap(node) { if (node.tagName === 'TD') return node; var td = el('td'); td.appendChild(node); return td; }
  function badge(status) { var b = el('span', 'badge ' + status, status); b.setAttribute('data-status', status); return b; }
  function setConnection(state, text) { var pill = $('connection'); pill.setAttribute('data-state', state); pill.textContent = text; }
  function now() { return Date.now() + clockOffset; }
  function seconds(ms) { return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s'; }

  function api(path, options) {
    var init = options || {};
    init.headers = { authorization: 'Bearer ' + token };
    return fetch(base + path, init).then(function (response) {
      if (response.status === 401) { showLogin('That token was refused.'); throw new Error('unauthorized'); }
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response;
    });
  }

  function matchesFilter(instance, words) {
    if (words.length === 0) return true;
    var text = [instance.name, instance.id, instance.status, instance.info.publicUrl, instance.info.ipv4 || '',
      instance.info.endpoints.join(' ')].join(' ').toLowerCase();
    return words.every(function (word) { return text.indexOf(word) !== -1; });
  }

  function render() {
    if (!snapshot) return;
    var words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    var instances = snapshot.instances.filter(function (instance) { return matchesFilter(instance, words); });
    var counts = {};
    snapshot.instances.forEach(function (instance) {
      var c = counts[instance.name] || (counts[instance.name] = { total: 0, up: 0, starting: 0, draining: 0, down: 0 });
      c.total++; c[instance.status]++;
    });
    var names = Object.keys(counts).sort();
    $('service-count').textContent = names.length;
    $('instance-count').textContent = snapshot.instances.length;
    $('up-count').textContent = snapshot.instances.filter(function (i) { return i.status === 'up'; }).length;
    $('conflict-count').textContent = snapshot.conflicts.length;
    $('rejected-count').textContent = snapshot.rejected.length;
    var rejectedRows = $('rejected-rows');
    rejectedRows.replaceChildren();
    snapshot.rejected.forEach(function (item) {
      rejectedRows.appendChild(row([el('code', '', item.key), el('span', '', item.reason)]));
    });
    $('rejected').hidden = snapshot.rejected.length === 0;

    var serviceRows = $('service-rows');
    serviceRows.replaceChildren();
    names.filter(function (name) { return instances.some(function (i) { return i.name === name; }) || words.length === 0; })
      .forEach(function (name) {
        var c = counts[name];
        var tr = row([el('b', '', name), el('td', 'num', c.total)].concat(STATUSES.map(function (status) {
          return el('td', 'num ' + (c[status] ? '' : 'count0'), c[status]);
        })));
        tr.setAttribute('data-service', name);
        serviceRows.appendChild(tr);
      });

    var instanceRows = $('instance-rows');
    instanceRows.replaceChildren();
    instances.forEach(function (instance) {
      var meta = Object.keys(instance.meta).sort().map(function (key) { return key + '=' + instance.meta[key]; }).join(' ');
      var expires = el('td', 'num expires');
      if (instance.expiresAt !== null) expires.setAttribute('data-expires-at', instance.expiresAt);
      var tr = row([el('b', '', instance.name), el('code', '', instance.id), badge(instance.status),
        el('code', '', (instance.info.ipv4 || '-') + ':' + instance.info.port), el('code', '', instance.info.publicUrl),
        el('span', 'mono', instance.info.endpoints.join(', ')), expires, el('span', 'muted mono', meta)]);
      tr.setAttribute('data-instance', instance.name + '/' + instance.id);
      tr.setAttribute('data-status', instance.status);
      instanceRows.appendChild(tr);
    });
    $('empty').hidden = snapshot.instances.length !== 0;

    var urlRows = $('url-rows');
    urlRows.replaceChildren();
    Object.keys(snapshot.urlMap).sort().forEach(function (resource) {
      urlRows.appendChild(row([el('code', '', resource), el('code', '', snapshot.urlMap[resource])]));
    });

    var conflictRows = $('conflict-rows');
    conflictRows.replaceChildren();
    snapshot.conflicts.forEach(function (conflict) {
      conflictRows.appendChild(row([el('code', '', conflict.resource), el('code', '', conflict.urls.join(' , ')),
        el('span', 'mono', conflict.instances.join(', '))]));
    });
    $('conflicts').hidden = snapshot.conflicts.length === 0;
    var guard = $('guard-banner');
    guard.hidden = snapshot.guarded.length === 0;
    guard.textContent = 'Held through a suspected store restart (instances kept for one refresh interval): ' +
      snapshot.guarded.join(', ');
    tick();
    followDeadlines();
  }

  // The view moves a live instance's deadline shortly before it passes (it probes the store): read
  // the snapshot again just after the earliest one shown, so the countdown follows it.
  function followDeadlines() {
    clearTimeout(deadlineTimer);
    var earliest = Infinity;
    snapshot.instances.forEach(function (instance) {
      if (instance.expiresAt !== null && instance.expiresAt > now() && instance.expiresAt < earliest) earliest = instance.expiresAt;
    });
    if (earliest === Infinity) return;
    deadlineTimer = setTimeout(function () { loadSnapshot().catch(function () {}); },
      Math.min(2147483647, earliest - now() + 100));
  }

  function tick() {
    if (!snapshot) return;
    var at = now();
    var due = false;
    Array.prototype.forEach.call(document.querySelectorAll('td[data-expires-at]'), function (cell) {
      var left = Number(cell.getAttribute('data-expires-at')) - at;
      // The view drops an instance at its deadline or moves the deadline on: past it, the page waits
      // for the snapshot that says which.
      cell.textContent = left > 0 ? seconds(left) : snapshot.stale ? 'unknown' : 'checking';
      cell.classList.toggle('muted', left <= 0);
      if (left <= 0) due = true;
    });
    if (due && at - lastDueReload > 5000) { lastDueReload = at; scheduleReload(); }
    var banner = $('stale-banner');
    banner.hidden = !snapshot.stale;
    if (snapshot.stale) {
      var age = snapshot.updatedAt === null ? 'never' : seconds(at - snapshot.updatedAt) + ' ago';
      banner.textContent = 'The registry store is not answering: this is the last known state (updated ' + age +
        '). The view keeps serving it until its staleness bound (maxStaleness) passes.';
      setConnection('stale', 'stale');
    } else if ($('connection').getAttribute('data-state') === 'stale') {
      setConnection('live', 'live');
    }
    $('updated-at').textContent = snapshot.updatedAt === null ? 'never' : new Date(snapshot.updatedAt).toLocaleTimeString();
  }

  function loadSnapshot() {
    return api('/v1/snapshot').then(function (response) { return response.json(); }).then(function (body) {
      clockOffset = body.serverTime - Date.now();
      snapshot = body;
      $('lost-banner').hidden = true;
      render();
    });
  }
  function scheduleReload() {
    if (refetchTimer) return;
    refetchTimer = setTimeout(function () {
      refetchTimer = null;
      loadSnapshot().catch(function () {});
    }, 100);
  }

  function follow() {
    streamAbort = new AbortController();
    var buffer = '';
    api('/v1/events', { signal: streamAbort.signal }).then(function (response) {
      setConnection(snapshot && snapshot.stale ? 'stale' : 'live', snapshot && snapshot.stale ? 'stale' : 'live');
      $('lost-banner').hidden = true;
      loadSnapshot().catch(function () {});
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error('the event stream ended');
          buffer += decoder.decode(chunk.value, { stream: true });
          var parts = buffer.split('\n\n');
          buffer = parts.pop();
          parts.forEach(function (part) {
            var name = /^event: (.+)$/m.exec(part);
            if (name && name[1] !== 'ready') scheduleReload();
          });
          return pump();
        });
      }
      return pump();
    }).catch(function (error) {
      if (error && error.message === 'unauthorized') return;
      setConnection('lost', 'disconnected');
      $('lost-banner').hidden = false;
      setTimeout(follow, 2000);
    });
  }

  function showLogin(message) {
    if (streamAbort) streamAbort.abort();
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    setConnection('connecting', 'token needed');
  }
  $('login').addEventListener('submit', function (event) {
    event.preventDefault();
    token = $('token').value.trim();
    try { sessionStorage.setItem('service-registry-token', token); } catch (e) {}
    start();
  });
  $('filter').addEventListener('input', render);

  function start() {
    $('login').hidden = true;
    $('main').hidden = false;
    follow();
  }
  setInterval(tick, 1000);
  // A slow backstop: expiries and staleness also arrive as events, this only heals a missed one.
  setInterval(function () { if (token && !$('main').hidden) loadSnapshot().catch(function () {}); }, 15000);
  if (token) start(); else showLogin();
})();
`;
