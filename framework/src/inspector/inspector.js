// troupe inspector: the page's logic. Plain ES2020, no libraries.
//
// Data flow: one fetch of /api/actors and /api/lints on start, then the live event stream
// (/api/events, an "update" a second) or, when that fails, polling every 2 s. The topology
// and the dead letters are fetched every few seconds; the detail panel fetches its actor
// every 2 s while it is open. Every view is updated in place so that the filter keeps its
// focus, the selection stays and a click is not lost to a re-render.
'use strict';
(function () {
  // ---- configuration -------------------------------------------------------------------

  const POLL_MS = 2000;        // fallback polling of actors + lints
  const DETAIL_MS = 2000;      // detail panel refresh
  const TOPOLOGY_MS = 3000;    // topology refresh
  const DEAD_MS = 3000;        // dead letters refresh
  const SSE_RETRY_MS = 10000;  // try the event stream again after this long
  const STALE_MS = 5000;       // no data for this long: "disconnected"
  const TOPO_MAX_NODES = 50;   // above this many actors, draw only the busiest edges
  const TOPO_MAX_EDGES = 50;

  // The token exactly as it appears in the address (the server compares it verbatim).
  const TOKEN = (/[?&]token=([^&#]*)/.exec(location.search) || [])[1] || '';
  const withToken = (url) => (TOKEN ? url + (url.includes('?') ? '&' : '?') + 'token=' + TOKEN : url);
  // How updates arrive: 'stream' (the event stream, polling if it fails), or 'poll' when the
  // address says live=poll (a buffering proxy; or headless Chromium's --virtual-time-budget,
  // which does not advance past a request that never finishes, as an open stream is).
  const LIVE_MODE = (/[?&]live=(stream|poll)\b/.exec(location.search) || [])[1] || 'stream';

  // ---- state ---------------------------------------------------------------------------

  const state = {
    actors: null,              // the last /api/actors document
    byId: new Map(),           // id -> actor
    lints: [],                 // the last lint list
    lintsByActor: new Map(),   // id -> [lint]
    sort: { key: 'id', dir: 1 },
    filter: [],                // lower-cased filter terms
    selected: 0,               // actor in the detail panel (0 = none)
    detail: null,              // the last /api/actors/ID document for `selected`
    detailMissing: false,      // the server said 404 for `selected`
    collapsed: new Set(),      // tree nodes folded by the user
    treeOrder: new Map(),      // id -> position in the tree's depth-first order
    topology: null,
    live: 'connecting',
    lastData: 0,               // Date.now() of the last actors document
    stopped: false,            // set on 401: nothing more is requested
  };
  let source = null, pollTimer = 0, detailTimer = 0, loadedOnce = false;
  const timers = [];

  // ---- small helpers -------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const num = (v) => (typeof v === 'number' && isFinite(v) ? v : 0);
  const labelOf = (a) => (a ? a.name || a.type || '#' + a.id : '');
  const stateClass = (s) => (s === 'running' ? 'running' : s === 'exited' ? 'exited' : 'other');

  function setText(el, text) {
    if (el && el._t !== text) { el._t = text; el.textContent = text; }
  }
  function setTitle(el, title) {
    if (el && el.title !== title) el.title = title;
  }
  // Three significant digits, no trailing noise.
  function sig3(x) {
    if (x === 0) return '0';
    return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
  }
  // A duration given in microseconds: 1.23 µs, 45.6 µs, 1.20 ms, 2.35 s.
  function fmtUs(us) {
    if (typeof us !== 'number' || !isFinite(us) || us < 0) return '—';
    if (us < 1000) return sig3(us) + ' µs';
    if (us < 1e6) return sig3(us / 1000) + ' ms';
    return sig3(us / 1e6) + ' s';
  }
  // A span of time given in milliseconds: 850 ms, 12.3 s, 5m 02s, 3h 07m, 2d 04h.
  function fmtMs(ms) {
    if (typeof ms !== 'number' || !isFinite(ms) || ms < 0) return '—';
    if (ms < 1000) return sig3(ms) + ' ms';
    const s = ms / 1000;
    if (s < 60) return s.toFixed(1) + ' s';
    const pad = (n) => String(Math.floor(n)).padStart(2, '0');
    if (s < 3600) return Math.floor(s / 60) + 'm ' + pad(s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + pad((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + pad((s % 86400) / 3600) + 'h';
  }
  const fmtAgo = (ms) => (typeof ms === 'number' && ms >= 0 ? fmtMs(ms) + ' ago' : '—');
  const fmtRate = (r) => (typeof r === 'number' && isFinite(r) ? (r >= 100 ? r.toFixed(0) : r.toFixed(1)) : '—');
  const fmtLat = (h, q) => (h && h.count > 0 ? fmtUs(h[q]) : '—');
  const latKey = (h, q) => (h && h.count > 0 ? num(h[q]) : -1);
  const cmp = (x, y) => (typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y);

  // A link that opens an actor's detail (through the address's #actor=ID).
  function actorLink(id, withLabel) {
    if (!id) return '<span class="muted">—</span>';
    const a = state.byId.get(id);
    const text = withLabel && a ? '#' + id + ' ' + labelOf(a) : '#' + id;
    return `<a class="actor-link" href="#actor=${esc(id)}" title="${esc(a ? labelOf(a) + ' (' + a.type + ')' : 'actor ' + id)}">${esc(text)}</a>`;
  }

  // Keyed update of a container's children: existing elements are kept (and so their focus,
  // hover and any click in progress), missing ones created, gone ones removed, order fixed.
  function reconcile(parent, items, keyOf, create, update) {
    const old = new Map();
    for (const el of Array.from(parent.children)) {
      if (el._key === undefined) el.remove();
      else old.set(el._key, el);
    }
    let cursor = parent.firstElementChild;
    items.forEach((item, i) => {
      const key = keyOf(item, i);
      let el = old.get(key);
      if (el) old.delete(key);
      else { el = create(item, i); el._key = key; }
      update(el, item, i);
      if (el === cursor) cursor = cursor.nextElementSibling;
      else parent.insertBefore(el, cursor);
    });
    for (const el of old.values()) el.remove();
  }

  // ---- server access -------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(path) {
    const res = await fetch(path, { headers: TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {}, cache: 'no-store' });
    if (res.status === 401) { unauthorized(); throw new Unauthorized('wrong or missing token'); }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const e = new Error((body && body.error) || 'HTTP ' + res.status);
      e.status = res.status;
      throw e;
    }
    return body;
  }

  function unauthorized() {
    if (state.stopped) return;
    state.stopped = true;
    document.body.dataset.error = 'unauthorized';
    if (source) { source.close(); source = null; }
    clearInterval(pollTimer); clearInterval(detailTimer);
    timers.forEach(clearInterval);
    const b = $('banner');
    b.hidden = false;
    b.textContent = 'wrong or missing token: open the address the server printed (…/?token=…).';
    setLive('unauthorized');
  }

  function setLive(mode) {
    state.live = mode;
    const el = $('status');
    el.dataset.state = mode;
    setText($('status-text'), mode);
    setTitle(el, state.lastData ? 'last data ' + fmtAgo(Date.now() - state.lastData) : 'no data yet');
  }

  // ---- applying data -------------------------------------------------------------------

  function applyActors(doc) {
    if (!doc || !Array.isArray(doc.actors)) return;
    state.actors = doc;
    state.byId = new Map(doc.actors.map((a) => [a.id, a]));
    state.lastData = Date.now();
    renderHeader();
    renderTable();
    renderTree();
    if (state.selected && !state.detail) renderDetail();
    if (!loadedOnce) { loadedOnce = true; document.body.dataset.loaded = 'true'; }
  }

  function applyLints(doc) {
    const list = doc && Array.isArray(doc.lints) ? doc.lints : Array.isArray(doc) ? doc : null;
    if (!list) return;
    state.lints = list;
    state.lintsByActor = new Map();
    for (const l of list) {
      if (!l.actor) continue;
      if (!state.lintsByActor.has(l.actor)) state.lintsByActor.set(l.actor, []);
      state.lintsByActor.get(l.actor).push(l);
    }
    renderLints();
    if (state.actors) { renderTable(); renderTree(); }
  }

  // ---- header --------------------------------------------------------------------------

  function renderHeader() {
    const d = state.actors;
    setText($('node'), String(d.node ?? '–'));
    setText($('uptime'), fmtMs(d.uptime_ms));
    setText($('running'), String(num(d.running)));
    setText($('queued'), String(num(d.queued)));
    setText($('handled'), String(num(d.handled)));
    setText(document.getElementById('dead-letter-count'), String(num(d.dead_letters)));
    setText($('lint-count'), String(num(d.lints)));
    $('lint-count').classList.toggle('warn', num(d.lints) > 0);
    setTitle($('running'), `${num(d.spawned)} spawned, ${num(d.exited)} exited, ${num(d.untracked)} untracked`);
    document.title = `troupe inspector · ${num(d.running)} running`;
  }

  // ---- actor table ---------------------------------------------------------------------

  // Each column: header label, cell class, cell text, sort key, first sort direction.
  const COLUMNS = [
    { key: 'flag', label: '', cls: 'flag', first: -1, sort: (a) => (state.lintsByActor.has(a.id) ? 1 : 0),
      text: (a) => (state.lintsByActor.has(a.id) ? '⚠' : ''),
      title: (a) => (state.lintsByActor.get(a.id) || []).map((l) => l.kind + ': ' + l.detail).join('\n') },
    { key: 'id', label: 'id', cls: 'id num', first: 1, sort: (a) => a.id, text: (a) => String(a.id) },
    { key: 'name', label: 'name', cls: 'name', first: 1, sort: (a) => labelOf(a).toLowerCase(), text: labelOf },
    { key: 'type', label: 'type', cls: 'type', first: 1, sort: (a) => String(a.type).toLowerCase(), text: (a) => String(a.type ?? '') },
    { key: 'state', label: 'state', cls: 'state', first: 1, sort: (a) => String(a.state), text: (a) => String(a.state ?? ''),
      title: (a) => (a.exit_reason ? 'exit reason: ' + a.exit_reason : '') },
    { key: 'mailbox', label: 'mailbox', cls: 'mailbox num', first: -1, hint: 'messages queued now / peak',
      sort: (a) => num(a.mailbox && a.mailbox.now) * 1e9 + num(a.mailbox && a.mailbox.peak),
      text: (a) => (a.mailbox ? num(a.mailbox.now) + ' / ' + num(a.mailbox.peak) : '—') },
    { key: 'handled', label: 'handled', cls: 'handled num', first: -1, sort: (a) => num(a.handled), text: (a) => String(num(a.handled)),
      title: (a) => `${num(a.requests)} requests, ${num(a.threw)} threw, ${num(a.sent)} sent, ${num(a.replies)} replies` },
    { key: 'p50', label: 'handler p50', cls: 'p50 num', first: -1, hint: 'median time in the handler',
      sort: (a) => latKey(a.handler, 'p50_us'), text: (a) => fmtLat(a.handler, 'p50_us') },
    { key: 'p99', label: 'handler p99', cls: 'p99 num', first: -1, hint: '99th percentile time in the handler',
      sort: (a) => latKey(a.handler, 'p99_us'), text: (a) => fmtLat(a.handler, 'p99_us'),
      title: (a) => (a.handler && a.handler.count ? 'max ' + fmtUs(a.handler.max_us) : '') },
    { key: 'wait', label: 'wait p99', cls: 'wait num', first: -1, hint: '99th percentile time a message waited in the mailbox',
      sort: (a) => latKey(a.mailbox_wait, 'p99_us'), text: (a) => fmtLat(a.mailbox_wait, 'p99_us'),
      title: (a) => (a.mailbox_wait && a.mailbox_wait.count ? 'p50 ' + fmtUs(a.mailbox_wait.p50_us) + ', max ' + fmtUs(a.mailbox_wait.max_us) : '') },
    { key: 'age', label: 'age', cls: 'age num', first: -1, sort: (a) => num(a.age_ms), text: (a) => fmtMs(a.age_ms) },
    { key: 'idle', label: 'idle', cls: 'idle num', first: -1, hint: 'time since it last ran',
      sort: (a) => (a.idle_ms < 0 ? Infinity : num(a.idle_ms)), text: (a) => (a.idle_ms < 0 ? 'never ran' : fmtMs(a.idle_ms)) },
  ];

  function buildTableHead() {
    const tr = $('actors').tHead.rows[0];
    for (const c of COLUMNS) {
      const th = document.createElement('th');
      th.className = c.cls;
      th.dataset.key = c.key;
      th.textContent = c.label;
      if (c.hint) th.title = c.hint;
      if (c.key === 'flag') th.title = 'actors with a lint';
      th.tabIndex = 0;
      tr.appendChild(th);
    }
    markSortHeader();
  }

  function markSortHeader() {
    for (const th of $('actors').tHead.rows[0].cells) {
      const on = th.dataset.key === state.sort.key;
      th.classList.toggle('sorted', on);
      th.dataset.dir = on ? (state.sort.dir > 0 ? 'asc' : 'desc') : '';
      th.setAttribute('aria-sort', on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  function sortBy(key) {
    const col = COLUMNS.find((c) => c.key === key);
    if (!col) return;
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key, dir: col.first };
    markSortHeader();
    renderTable();
  }

  function matchesFilter(a) {
    if (!state.filter.length) return true;
    const hay = `${a.id} #${a.id} ${a.name || ''} ${a.type || ''} ${a.state || ''}`.toLowerCase();
    return state.filter.every((t) => hay.includes(t));
  }

  function createRow(a) {
    const tr = document.createElement('tr');
    tr.className = 'actor';
    tr.dataset.id = String(a.id);
    tr.tabIndex = 0;
    for (const c of COLUMNS) tr.insertCell().className = c.cls;
    return tr;
  }

  function updateRow(tr, a) {
    tr.classList.toggle('exited', a.state !== 'running');
    tr.classList.toggle('linted', state.lintsByActor.has(a.id));
    tr.classList.toggle('selected', a.id === state.selected);
    tr.hidden = !matchesFilter(a);
    COLUMNS.forEach((c, i) => {
      const td = tr.cells[i];
      setText(td, c.text(a));
      if (c.title) setTitle(td, c.title(a));
    });
    tr.cells[2].classList.toggle('anon', !a.name);  // no name: the type stands in
  }

  function renderTable() {
    const all = state.actors ? state.actors.actors : [];
    const col = COLUMNS.find((c) => c.key === state.sort.key) || COLUMNS[1];
    const sorted = all.slice().sort((x, y) => cmp(col.sort(x), col.sort(y)) * state.sort.dir || x.id - y.id);
    reconcile($('actors').tBodies[0], sorted, (a) => a.id, createRow, updateRow);
    const shown = sorted.filter(matchesFilter).length;
    setText($('actor-count'), shown === all.length ? `${all.length}` : `${shown} of ${all.length}`);
    const empty = $('actors-empty');
    empty.hidden = shown > 0;
    setText(empty, all.length ? 'no actor matches the filter' : 'no actors');
  }

  // ---- lints ---------------------------------------------------------------------------

  function renderLints() {
    const ul = $('lints');
    const seen = new Map();
    const key = (l) => {  // kind:actor, made unique if the server ever repeats one
      const k = l.kind + ':' + l.actor;
      const n = (seen.get(k) || 0) + 1;
      seen.set(k, n);
      return n > 1 ? k + ':' + n : k;
    };
    const sorted = state.lints.slice().sort((x, y) => num(x.last_ago_ms) - num(y.last_ago_ms) || num(x.actor) - num(y.actor));
    reconcile(ul, sorted, key, (l) => {
      const li = document.createElement('li');
      li.className = 'lint';
      li.dataset.kind = String(l.kind);
      li.dataset.actor = String(num(l.actor));
      li.innerHTML = '<div class="lint-head"><span class="kind"></span><span class="who"></span><span class="ago"></span></div><div class="lint-detail"></div>';
      return li;
    }, (li, l) => {
      setText(li.querySelector('.kind'), String(l.kind).replace(/_/g, ' '));
      const who = l.actor ? actorLink(l.actor, true) : '<span class="muted">system-wide</span>';
      const whoEl = li.querySelector('.who');
      if (whoEl._h !== who) { whoEl._h = who; whoEl.innerHTML = who; }
      setText(li.querySelector('.lint-detail'), String(l.detail ?? ''));
      const ago = li.querySelector('.ago');
      setText(ago, fmtAgo(l.last_ago_ms));
      setTitle(ago, `first seen ${fmtAgo(l.first_ago_ms)}, value ${l.value}`);
    });
    if (!state.lints.length) {
      const li = document.createElement('li');
      li.className = 'none muted';
      li.textContent = 'no lints';
      ul.appendChild(li);
    }
  }

  // ---- supervision tree ----------------------------------------------------------------

  let treeSig = '';

  function renderTree(force) {
    const actors = state.actors ? state.actors.actors : [];
    const kids = new Map(), roots = [];
    for (const a of actors) {
      if (a.parent && a.parent !== a.id && state.byId.has(a.parent)) {
        if (!kids.has(a.parent)) kids.set(a.parent, []);
        kids.get(a.parent).push(a);
      } else roots.push(a);
    }
    for (const list of kids.values()) list.sort((x, y) => x.id - y.id);
    roots.sort((x, y) => x.id - y.id);

    // Depth-first order (also used to place the topology's nodes); a parent cycle would leave
    // actors unvisited, so those become roots too.
    const order = new Map(), visited = new Set();
    const walk = (a) => {
      if (visited.has(a.id)) return;
      visited.add(a.id);
      order.set(a.id, order.size);
      for (const c of kids.get(a.id) || []) walk(c);
    };
    roots.forEach(walk);
    for (const a of actors) if (!visited.has(a.id)) { roots.push(a); walk(a); }
    state.treeOrder = order;

    const sig = actors.map((a) => `${a.id}:${a.parent}:${a.state}:${labelOf(a)}:${a.type}:${state.lintsByActor.has(a.id) ? 1 : 0}`).join('|') +
      '/' + Array.from(state.collapsed).join(',');
    if (!force && sig === treeSig) return markTreeSelection();
    treeSig = sig;

    const count = (a, seen) => (kids.get(a.id) || []).reduce((n, c) => (seen.has(c.id) ? n : (seen.add(c.id), n + 1 + count(c, seen))), 0);
    const drawn = new Set();
    const node = (a) => {
      if (drawn.has(a.id)) return '';
      drawn.add(a.id);
      const ch = kids.get(a.id) || [];
      const open = !state.collapsed.has(a.id);
      let h = `<li class="tnode st-${stateClass(a.state)}" data-id="${esc(a.id)}"><div class="trow">`;
      h += ch.length
        ? `<button type="button" class="twisty" data-toggle="${esc(a.id)}" aria-expanded="${open}">${open ? '▾' : '▸'}</button>`
        : '<span class="twisty"></span>';
      h += `<a class="actor-link" href="#actor=${esc(a.id)}">${esc(labelOf(a))}</a><span class="tid">#${esc(a.id)}</span>`;
      if (a.name) h += `<span class="ttype">${esc(a.type)}</span>`;
      h += `<span class="badge st-${stateClass(a.state)}" title="${esc(a.exit_reason || '')}">${esc(a.state)}</span>`;
      if (state.lintsByActor.has(a.id)) h += '<span class="warn-mark" title="has a lint">⚠</span>';
      if (ch.length && !open) h += `<span class="muted">+${count(a, new Set([a.id]))}</span>`;
      h += '</div>';
      if (ch.length && open) h += '<ul>' + ch.map(node).join('') + '</ul>';
      return h + '</li>';
    };
    $('tree').innerHTML = actors.length ? '<ul class="troot">' + roots.map(node).join('') + '</ul>' : '<p class="muted pad">no actors</p>';
    markTreeSelection();
  }

  function markTreeSelection() {
    for (const li of $('tree').querySelectorAll('li.selected')) li.classList.remove('selected');
    const li = state.selected && $('tree').querySelector(`li[data-id="${state.selected}"]`);
    if (li) li.classList.add('selected');
  }

  // ---- topology ------------------------------------------------------------------------

  function renderTopology() {
    const t = state.topology;
    const svg = $('topology');
    if (!t) return;
    const known = new Map((t.actors || []).map((a) => [a.id, a]));
    let edges = (t.edges || []).slice().sort((x, y) => num(y.per_second) - num(x.per_second) || num(y.messages) - num(x.messages));
    const total = edges.length;
    let ids;
    if (known.size <= TOPO_MAX_NODES) {
      ids = new Set(known.keys());
      edges = edges.slice(0, 4 * TOPO_MAX_EDGES);
    } else {
      edges = edges.slice(0, TOPO_MAX_EDGES);
      ids = new Set();
    }
    for (const e of edges) { ids.add(e.from); ids.add(e.to); }
    const order = (id) => (state.treeOrder.has(id) ? state.treeOrder.get(id) : 1e9 + id);
    const nodes = Array.from(ids).sort((x, y) => order(x) - order(y));
    setText($('topology-note'), `${nodes.length} of ${known.size} actors · ${edges.length} of ${total} edges` +
      (edges.length < total ? ' (busiest)' : ''));

    if (!nodes.length) {
      svg.setAttribute('viewBox', '0 0 400 60');
      svg.setAttribute('width', '400'); svg.setAttribute('height', '60');
      svg.innerHTML = '<text x="200" y="34" text-anchor="middle" class="empty">' + (known.size ? 'no messages between actors yet' : 'no actors yet') + '</text>';
      return;
    }

    // Circular layout, in supervision order so relatives sit together; labels radial.
    const n = nodes.length, R = n === 1 ? 0 : Math.max(110, (n * 28) / (2 * Math.PI)), pad = 130;
    const size = Math.round(2 * (R + pad)), c = size / 2, r = 7;
    const pos = new Map();
    nodes.forEach((id, i) => {
      const th = -Math.PI / 2 + (2 * Math.PI * i) / n;
      pos.set(id, { x: c + R * Math.cos(th), y: c + R * Math.sin(th), th });
    });
    const maxRate = Math.max(0, ...edges.map((e) => num(e.per_second)));
    const name = (id) => (known.has(id) ? known.get(id).label || '#' + id : '#' + id);
    const f = (v) => v.toFixed(1);

    let h = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">' +
      '<path d="M0,0 L10,5 L0,10 z"/></marker></defs><g class="edges">';
    for (const e of edges) {
      const a = pos.get(e.from), b = pos.get(e.to);
      if (!a || !b) continue;
      const rate = num(e.per_second);
      const w = maxRate > 0 ? 1 + 5 * Math.sqrt(rate / maxRate) : 1;
      let d;
      if (e.from === e.to) {  // a message to itself: a small loop outside the circle
        const ux = Math.cos(a.th), uy = Math.sin(a.th), px = -uy, py = ux;
        d = `M${f(a.x + ux * r + px * 4)},${f(a.y + uy * r + py * 4)} C${f(a.x + ux * 40 + px * 22)},${f(a.y + uy * 40 + py * 22)} ` +
          `${f(a.x + ux * 40 - px * 22)},${f(a.y + uy * 40 - py * 22)} ${f(a.x + ux * r - px * 4)},${f(a.y + uy * r - py * 4)}`;
      } else {  // a slight curve to the left of travel, so a→b and b→a do not overlap
        const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
        const cx = (a.x + b.x) / 2 + (dy / len) * len * 0.15, cy = (a.y + b.y) / 2 - (dx / len) * len * 0.15;
        const s = unit(cx - a.x, cy - a.y), t2 = unit(b.x - cx, b.y - cy);
        d = `M${f(a.x + s.x * r)},${f(a.y + s.y * r)} Q${f(cx)},${f(cy)} ${f(b.x - t2.x * (r + 1))},${f(b.y - t2.y * (r + 1))}`;
      }
      const hot = state.selected && (e.from === state.selected || e.to === state.selected) ? ' hot' : '';
      h += `<path class="edge${rate > 0 ? '' : ' quiet'}${hot}" data-from="${esc(e.from)}" data-to="${esc(e.to)}" d="${d}" stroke-width="${w.toFixed(2)}" marker-end="url(#arrow)">` +
        `<title>${esc(name(e.from))} (#${esc(e.from)}) → ${esc(name(e.to))} (#${esc(e.to)})\n${esc(num(e.messages))} messages, ${esc(fmtRate(e.per_second))}/s</title></path>`;
    }
    h += '</g><g class="nodes">';
    for (const id of nodes) {
      const p = pos.get(id), a = known.get(id);
      const cls = `node ${a && a.alive === false ? 'dead' : 'alive'}${state.lintsByActor.has(id) ? ' linted' : ''}${id === state.selected ? ' selected' : ''}`;
      const label = name(id), short = label.length > 18 ? label.slice(0, 17) + '…' : label;
      let deg = (p.th * 180) / Math.PI, anchor = 'start', off = r + 5;
      if (Math.cos(p.th) < -1e-6) { deg += 180; anchor = 'end'; off = -off; }
      if (n === 1) { deg = 0; off = r + 5; anchor = 'start'; }
      h += `<g class="${cls}" data-id="${esc(id)}" transform="translate(${f(p.x)},${f(p.y)})"><circle r="${r}"/>` +
        `<text transform="rotate(${f(deg)})" x="${off}" dy="0.35em" text-anchor="${anchor}">${esc(short)}</text>` +
        `<title>${esc(label)} (#${esc(id)})${a && a.alive === false ? ', exited' : ''}</title></g>`;
    }
    h += '</g>';
    svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
    svg.setAttribute('width', String(size));
    svg.setAttribute('height', String(size));
    svg.innerHTML = h;
  }

  function unit(x, y) {
    const l = Math.hypot(x, y) || 1;
    return { x: x / l, y: y / l };
  }

  async function loadTopology() {
    if (state.stopped) return;
    try { state.topology = await api('api/topology'); renderTopology(); } catch (_) { /* next round */ }
  }

  // ---- dead letters --------------------------------------------------------------------

  async function loadDeadLetters() {
    if (state.stopped) return;
    let d;
    try { d = await api('api/dead_letters'); } catch (_) { return; }
    setText($('dl-total'), String(num(d.total)));
    setText($('dl-rate'), fmtRate(d.per_second));
    const recent = (d.recent || []).slice(0, 100);
    reconcile($('dl-recent'), recent, (_, i) => i, () => {
      const tr = document.createElement('tr');
      tr.className = 'dead-letter';
      tr.innerHTML = '<td class="num"></td><td></td><td></td><td class="type"></td><td class="reason"></td>';
      return tr;
    }, (tr, x) => {
      setText(tr.cells[0], fmtMs(x.ago_ms));
      for (const [i, id] of [[1, x.receiver], [2, x.sender]]) {
        const html = actorLink(num(id), true);
        if (tr.cells[i]._h !== html) { tr.cells[i]._h = html; tr.cells[i].innerHTML = html; }
      }
      setText(tr.cells[3], String(x.type ?? ''));
      setText(tr.cells[4], String(x.reason ?? ''));
    });
    $('dl-empty').hidden = recent.length > 0;
  }

  // ---- detail panel --------------------------------------------------------------------

  function select(id) {
    id = Number(id) || 0;
    const changed = id !== state.selected;
    state.selected = id;
    if (changed) { state.detail = null; state.detailMissing = false; }
    clearInterval(detailTimer);
    for (const tr of $('actors').querySelectorAll('tr.actor.selected')) tr.classList.remove('selected');
    const row = id && $('actors').querySelector(`tr.actor[data-id="${id}"]`);
    if (row) row.classList.add('selected');
    markTreeSelection();
    if (changed) renderTopology();
    renderDetail();
    if (id && !state.stopped) {
      loadDetail();
      detailTimer = setInterval(loadDetail, DETAIL_MS);
    }
  }

  async function loadDetail() {
    const id = state.selected;
    if (!id || state.stopped) return;
    try {
      const d = await api('api/actors/' + id);
      if (id !== state.selected) return;
      state.detail = d;
      state.detailMissing = false;
    } catch (e) {
      if (id !== state.selected) return;
      if (e.status === 404) state.detailMissing = true;
      else return;  // a passing failure: keep what is shown
    }
    renderDetail();
  }

  function idList(ids) {
    return Array.isArray(ids) && ids.length ? ids.map((i) => actorLink(i, true)).join(' ') : '<span class="muted">none</span>';
  }

  function renderDetail() {
    const sec = $('detail'), body = $('detail-body'), id = state.selected;
    sec.dataset.id = id ? String(id) : '';
    sec.classList.toggle('empty', !id);
    $('detail-close').hidden = !id;
    if (!id) {
      setText($('detail-title'), 'Actor detail');
      body.innerHTML = '<p class="muted pad">Click an actor to see its details.</p>';
      return;
    }
    const a = state.detail && state.detail.id === id ? state.detail : state.byId.get(id);
    if (!a) {
      setText($('detail-title'), 'Actor #' + id);
      body.innerHTML = `<p class="muted pad">${state.detailMissing ? 'No such actor.' : 'Loading…'}</p>`;
      return;
    }
    setText($('detail-title'), labelOf(a) + ' #' + a.id);
    const kv = (k, v) => `<dt>${k}</dt><dd>${v}</dd>`;
    const mb = a.mailbox || {};
    let h = state.detailMissing ? '<p class="note">The server no longer knows this actor; showing the last data.</p>' : '';
    h += '<dl class="kv">' +
      kv('id', esc(a.id)) + kv('name', a.name ? esc(a.name) : '<span class="muted">none</span>') +
      kv('type', `<span class="mono">${esc(a.type)}</span>`) +
      kv('state', `<span class="badge st-${stateClass(a.state)}">${esc(a.state)}</span>`) +
      (a.state !== 'running' || a.exit_reason ? kv('exit reason', esc(a.exit_reason || '—')) : '') +
      kv('node', `<span class="mono">${esc(a.node)}</span>`) +
      kv('parent', a.parent ? actorLink(a.parent, true) : '<span class="muted">none (root)</span>') +
      kv('age', esc(fmtMs(a.age_ms))) + kv('idle', a.idle_ms < 0 ? 'never ran' : esc(fmtMs(a.idle_ms))) +
      '</dl>';
    h += '<div class="tiles">' + [['mailbox', num(mb.now) + ' / ' + num(mb.peak)], ['handled', num(a.handled)], ['requests', num(a.requests)],
      ['threw', num(a.threw)], ['sent', num(a.sent)], ['replies', num(a.replies)]].map(([k, v]) =>
      `<div class="tile${k === 'threw' && v > 0 ? ' bad' : ''}"><span>${k}</span><b>${esc(v)}</b></div>`).join('') + '</div>';
    const lat = (label, x) => `<tr><th>${label}</th>` + (x && x.count > 0
      ? ['p50_us', 'p99_us', 'max_us'].map((q) => `<td class="num">${esc(fmtUs(x[q]))}</td>`).join('') + `<td class="num">${esc(num(x.count))}</td>`
      : '<td class="num">—</td><td class="num">—</td><td class="num">—</td><td class="num">0</td>') + '</tr>';
    h += '<table class="small latency"><tr><th></th><th class="num">p50</th><th class="num">p99</th><th class="num">max</th><th class="num">count</th></tr>' +
      lat('handler', a.handler) + lat('mailbox wait', a.mailbox_wait) + '</table>';
    h += '<dl class="kv rel">' + kv('children', idList(a.children)) + kv('links', idList(a.links)) + kv('monitored by', idList(a.monitored_by)) + '</dl>';

    const lints = Array.isArray(a.lints) ? a.lints : state.lintsByActor.get(id) || [];
    h += '<h3>Lints</h3>' + (lints.length
      ? '<ul class="detail-lints">' + lints.map((l) => `<li data-kind="${esc(l.kind)}"><span class="kind">${esc(String(l.kind).replace(/_/g, ' '))}</span> ${esc(l.detail)}</li>`).join('') + '</ul>'
      : '<p class="muted">none</p>');

    h += '<h3>Recent runs</h3>';
    if (!Array.isArray(a.recent)) h += '<p class="muted">loading…</p>';
    else if (!a.recent.length) h += '<p class="muted">none recorded</p>';
    else {
      const runs = a.recent.slice().sort((x, y) => num(x.ago_ms) - num(y.ago_ms));
      h += '<div class="table-wrap short"><table class="small runs"><thead><tr><th class="num">ago</th><th>kind</th><th>type</th><th title="sender">from</th>' +
        '<th class="num" title="time in the mailbox">wait</th><th class="num" title="time in the handler">run</th><th class="num" title="mailbox depth">depth</th></tr></thead><tbody>' +
        runs.map((r) => `<tr class="${r.threw ? 'threw' : ''}"><td class="num">${esc(fmtMs(r.ago_ms))}</td><td>${esc(r.kind)}` +
          `${r.request ? ' <span class="tag" title="a request: expects a reply">req</span>' : ''}${r.threw ? ' <span class="tag bad" title="the handler threw">threw</span>' : ''}</td>` +
          `<td class="mono rtype" title="${esc(r.type || '')}">${esc(r.type || '')}</td><td>${actorLink(num(r.sender), false)}</td><td class="num">${esc(fmtUs(r.wait_us))}</td>` +
          `<td class="num">${esc(fmtUs(r.handler_us))}</td><td class="num">${esc(num(r.depth))}</td></tr>`).join('') +
        '</tbody></table></div>';
    }
    if (body._h !== h) { body._h = h; body.innerHTML = h; }
  }

  // The selection lives in the address (#actor=ID): links need no script, Back works.
  function selectionFromHash() {
    const m = /actor=(\d+)/.exec(location.hash);
    select(m ? Number(m[1]) : 0);
  }
  function openActor(id) {
    if (Number(id) === state.selected) return;
    location.hash = 'actor=' + id;
  }
  function closeDetail() {
    history.pushState(null, '', location.pathname + location.search);
    select(0);
  }

  // ---- live updates --------------------------------------------------------------------

  function connectLive() {
    if (state.stopped || source) return;
    if (typeof EventSource === 'undefined') return startPolling();
    const es = new EventSource(withToken('api/events'));
    source = es;
    es.addEventListener('update', (ev) => {
      let d;
      try { d = JSON.parse(ev.data); } catch (_) { return; }
      stopPolling();
      applyActors(d.actors);
      applyLints(d.lints);
      setLive('live');
    });
    es.onerror = () => {  // the stream failed: poll, and try the stream again later
      if (source !== es) return;
      es.close();
      source = null;
      if (state.stopped) return;
      setLive('disconnected');
      startPolling();
      setTimeout(connectLive, SSE_RETRY_MS);
    };
  }

  async function pollOnce() {
    if (state.stopped) return;
    try {
      const [actors, lints] = await Promise.all([api('api/actors'), api('api/lints')]);
      applyActors(actors);
      applyLints(lints);
      if (state.live !== 'live') setLive('polling');
    } catch (e) {
      if (!(e instanceof Unauthorized)) setLive('disconnected');
    }
  }
  function startPolling() {
    if (!pollTimer && !state.stopped) pollTimer = setInterval(pollOnce, POLL_MS);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  // ---- events from the page ------------------------------------------------------------

  function wire() {
    buildTableHead();
    const head = $('actors').tHead;
    head.addEventListener('click', (e) => { const th = e.target.closest('th'); if (th) sortBy(th.dataset.key); });
    head.addEventListener('keydown', (e) => {
      const th = e.target.closest('th');
      if (th && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); sortBy(th.dataset.key); }
    });
    const tbody = $('actors').tBodies[0];
    tbody.addEventListener('click', (e) => { const tr = e.target.closest('tr.actor'); if (tr) openActor(tr.dataset.id); });
    tbody.addEventListener('keydown', (e) => {
      const tr = e.target.closest('tr.actor');
      if (!tr) return;
      if (e.key === 'Enter') openActor(tr.dataset.id);
      else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        let next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
        while (next && next.hidden) next = e.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling;
        if (next) next.focus();
      }
    });
    $('filter').addEventListener('input', (e) => {
      state.filter = e.target.value.toLowerCase().split(/\s+/).filter(Boolean);
      renderTable();
    });
    $('tree').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-toggle]');
      if (!b) return;
      const id = Number(b.dataset.toggle);
      if (state.collapsed.has(id)) state.collapsed.delete(id); else state.collapsed.add(id);
      renderTree(true);
    });
    $('tree-expand').addEventListener('click', () => { state.collapsed.clear(); renderTree(true); });
    $('tree-collapse').addEventListener('click', () => {
      for (const a of state.actors ? state.actors.actors : []) if (a.children && a.children.length) state.collapsed.add(a.id);
      renderTree(true);
    });
    $('topology').addEventListener('click', (e) => { const g = e.target.closest('g.node'); if (g) openActor(g.dataset.id); });
    $('detail-close').addEventListener('click', closeDetail);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && state.selected && e.target !== $('filter')) closeDetail();
      if (e.key === '/' && document.activeElement !== $('filter') && !e.ctrlKey && !e.metaKey) { e.preventDefault(); $('filter').focus(); }
    });
    window.addEventListener('hashchange', selectionFromHash);
    $('metrics-link').href = withToken('metrics');
  }

  // ---- start ---------------------------------------------------------------------------

  async function start() {
    wire();
    selectionFromHash();
    loadTopology();
    loadDeadLetters();
    try {
      const [actors, lints] = await Promise.all([api('api/actors'), api('api/lints')]);
      applyActors(actors);
      applyLints(lints);
      setLive('polling');
    } catch (e) {
      if (e instanceof Unauthorized) return;
      setLive('disconnected');
      startPolling();
    }
    if (state.stopped) return;
    if (LIVE_MODE === 'stream') connectLive();
    else startPolling();
    timers.push(setInterval(loadTopology, TOPOLOGY_MS));
    timers.push(setInterval(loadDeadLetters, DEAD_MS));
    timers.push(setInterval(() => {  // the indicator notices a stream that went quiet
      if (state.stopped) return;
      if (state.lastData && Date.now() - state.lastData > STALE_MS) setLive('disconnected');
      else setLive(state.live);
    }, 1000));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
