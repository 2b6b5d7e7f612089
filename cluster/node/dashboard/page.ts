/**
 * The dashboard: one HTML page and one small script, no framework and no build step. Kept as strings
 * in a module so `tsc` ships them in dist/ with the rest. The script only sets `textContent`, never
 * HTML, so actor names and error messages cannot inject markup; the page's CSP allows no inline script.
 * The script runs in the operator's browser, never in an actor system, so its polling uses the
 * browser's own `setTimeout` (the injected Clock is the node's, and simulation never loads this page).
 */

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Troupe dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
  header { padding: 10px 16px; background: #1d2430; color: #fff; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  #conn.down { color: #ff8a80; }
  main { display: grid; grid-template-columns: minmax(420px, 2fr) minmax(280px, 1fr); gap: 12px; padding: 12px 16px; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 8px 12px; }
  h2 { font-size: 13px; margin: 4px 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #5a6577; }
  .shard { margin-bottom: 10px; }
  .shard-head { font-weight: 600; margin: 6px 0; }
  .shard-head.down { color: #c62828; }
  ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 16px; }
  ul.tree { padding-left: 0; }
  .actor { display: flex; gap: 10px; padding: 2px 4px; border-radius: 4px; cursor: pointer; white-space: nowrap; }
  .actor:hover { background: #eef2f8; }
  .actor.selected { background: #dbe7fb; }
  .actor .name { font-weight: 600; min-width: 120px; }
  .actor .type { color: #5a6577; min-width: 110px; }
  .badge { font-size: 11px; padding: 0 6px; border-radius: 8px; background: #eceff3; }
  .badge.restarts { background: #ffe0b2; color: #8a4b00; }
  .badge.status-running { background: #e6f4ea; color: #1e6b34; }
  .badge.status-suspended, .badge.status-restarting { background: #ffe0b2; }
  .badge.status-stopping, .badge.status-stopped { background: #fde2e1; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
  #letters { max-height: 260px; overflow: auto; }
  .muted { color: #8792a2; }
  #cluster { margin-bottom: 12px; }
  .member { cursor: pointer; }
  .member:hover { background: #eef2f8; }
  .member.viewing { background: #dbe7fb; }
  .member[data-status="down"] td, .member[data-status="removed"] td, .member[data-unreachable="true"] td { color: #c62828; }
  .remote-error { color: #c62828; }
</style>
</head>
<body>
<header>
  <h1>Troupe</h1>
  <span id="node" class="muted">connecting…</span>
  <span id="health"></span>
  <span id="conn"></span>
</header>
<main>
  <div>
    <section id="cluster" hidden>
      <h2>Cluster members</h2>
      <table><tbody id="members"></tbody></table>
    </section>
    <section>
      <h2 id="trees-title">Supervision trees</h2>
      <div id="trees"></div>
    </section>
  </div>
  <div>
    <section>
      <h2>Actor</h2>
      <div id="details" class="muted">Click an actor to see its details.</div>
    </section>
    <section style="margin-top: 12px">
      <h2>Dead letters</h2>
      <div id="letters"><table><tbody id="letter-rows"></tbody></table></div>
    </section>
  </div>
</main>
<script src="/dashboard/app.js"></script>
</body>
</html>
`

export const DASHBOARD_JS = `'use strict'
;(() => {
  const $ = (id) => document.getElementById(id)
  const el = (tag, cls, text) => {
    const node = document.createElement(tag)
    if (cls) node.className = cls
    if (text !== undefined) node.textContent = String(text)
    return node
  }
  const query = new URLSearchParams(location.search)
  const interval = Number(query.get('interval')) || 500
  let selected = null
  const letters = []
  /** The member whose trees are shown: null for this node (live stream), else a member's name (polled). */
  let viewing = null
  let remoteTimer = null
  /** Every member seen since the page opened: one the cluster state dropped stays listed as removed. */
  const seen = new Map()

  function actorRow(actor) {
    const li = el('li')
    const row = el('div', 'actor')
    row.dataset.path = actor.path
    row.dataset.shard = String(actor.shard)
    row.dataset.restarts = String(actor.restarts)
    row.dataset.status = actor.status
    if (selected && selected.path === actor.path && selected.shard === actor.shard) row.classList.add('selected')
    row.append(el('span', 'name', actor.name), el('span', 'type', actor.type), el('span', 'badge status-' + actor.status, actor.status))
    row.append(el('span', 'badge', 'mailbox ' + actor.mailbox), el('span', 'badge', actor.rate + '/s'))
    if (actor.restarts > 0) row.append(el('span', 'badge restarts', 'restarts ' + actor.restarts))
    if (actor.lastFailure) row.title = 'last failure: ' + actor.lastFailure.name + ': ' + actor.lastFailure.message
    row.addEventListener('click', (event) => {
      event.stopPropagation()
      selected = { path: actor.path, shard: actor.shard }
      for (const other of document.querySelectorAll('.actor.selected')) other.classList.remove('selected')
      row.classList.add('selected')
      void showDetails()
    })
    li.append(row)
    if (actor.children.length > 0) {
      const ul = el('ul')
      for (const child of actor.children) ul.append(actorRow(child))
      li.append(ul)
    }
    return li
  }

  function renderTrees(shards) {
    const box = $('trees')
    const parts = []
    for (const shard of shards) {
      const div = el('div', 'shard')
      div.dataset.shard = String(shard.shard)
      const head = el('div', 'shard-head' + (shard.state === 'down' ? ' down' : ''))
      head.textContent = 'shard ' + shard.shard + ' — ' + shard.state + ' · ' + shard.actors + ' actors · mailboxes ' + shard.mailboxTotal + ' · dead letters ' + shard.deadLetters + (shard.truncated ? ' · (cut)' : '')
      div.append(head)
      const ul = el('ul', 'tree')
      for (const actor of shard.tree) ul.append(actorRow(actor))
      if (shard.tree.length === 0) ul.append(el('li', 'muted', 'no actors'))
      div.append(ul)
      parts.push(div)
    }
    box.replaceChildren(...parts)
  }

  function renderStatus(status) {
    $('node').textContent = status.node + ' · ' + status.cluster + ' · app ' + status.app + ' · v' + status.version + ' · up ' + Math.round(status.uptimeMs / 1000) + ' s'
    const down = status.shards.filter((s) => s.state !== 'up').length
    $('health').textContent = (status.ready ? 'ready' : 'not ready: ' + status.reasons.join(', ')) + ' · ' + status.shards.length + ' shards' + (down > 0 ? ' (' + down + ' down)' : '')
  }

  function renderLetters(fresh) {
    letters.push(...fresh)
    letters.splice(0, Math.max(0, letters.length - 100))
    const rows = letters.slice().reverse().map((letter) => {
      const tr = el('tr')
      tr.append(el('td', 'muted', Math.round(letter.agoMs / 1000) + ' s ago'), el('td', '', letter.target + ' · ' + letter.method), el('td', '', letter.reason + (letter.error ? ': ' + letter.error : '')), el('td', 'muted', 'shard ' + letter.shard))
      return tr
    })
    if (rows.length === 0) {
      const tr = el('tr')
      tr.append(el('td', 'muted', 'none'))
      rows.push(tr)
    }
    $('letter-rows').replaceChildren(...rows)
  }

  async function showDetails() {
    if (!selected) return
    const box = $('details')
    const query = 'path=' + encodeURIComponent(selected.path) + '&shard=' + selected.shard
    const response = await fetch(viewing === null ? '/introspect/actor?' + query : '/introspect/member/actor?node=' + encodeURIComponent(viewing) + '&' + query)
    if (!response.ok) {
      box.replaceChildren(el('div', 'muted', selected.path + ': ' + (response.status === 404 ? 'no longer running' : 'HTTP ' + response.status)))
      return
    }
    const actor = (await response.json()).actors[0]
    const table = el('table')
    table.id = 'actor-details'
    const add = (key, value) => {
      const tr = el('tr')
      tr.append(el('th', '', key), el('td', '', value))
      table.append(tr)
    }
    add('path', actor.path)
    add('shard', actor.shard)
    add('type', actor.type)
    add('status', actor.status)
    add('mailbox', actor.mailbox + (actor.stashed > 0 ? ' (+' + actor.stashed + ' stashed)' : ''))
    add('processed', actor.processed + ' (' + actor.rate + '/s)')
    add('restarts', actor.restarts)
    add('last failure', actor.lastFailure ? actor.lastFailure.name + (actor.lastFailure.code ? ' [' + actor.lastFailure.code + ']' : '') + ': ' + actor.lastFailure.message + (actor.lastFailure.method ? ' in ' + actor.lastFailure.method : '') + ' (' + Math.round(actor.lastFailure.agoMs / 1000) + ' s ago)' : 'none')
    add('children', actor.childCount === 0 ? 'none' : actor.children.map((c) => c.name).join(', '))
    box.classList.remove('muted')
    box.replaceChildren(table)
  }

  const source = new EventSource('/introspect/stream?interval=' + interval)
  source.addEventListener('open', () => {
    $('conn').textContent = 'live'
    $('conn').className = ''
  })
  source.addEventListener('error', () => {
    $('conn').textContent = 'disconnected: retrying'
    $('conn').className = 'down'
  })
  source.addEventListener('snapshot', (event) => {
    const data = JSON.parse(event.data)
    renderStatus(data.status)
    if (viewing === null) renderTrees(data.shards)
    renderLetters(data.deadLetters)
    if (selected && viewing === null) void showDetails()
  })

  function view(node) {
    viewing = node
    selected = null
    if (remoteTimer !== null) clearTimeout(remoteTimer)
    remoteTimer = null
    $('details').replaceChildren(el('div', 'muted', 'Click an actor to see its details.'))
    $('trees-title').textContent = node === null ? 'Supervision trees' : 'Supervision trees of ' + node
    for (const row of document.querySelectorAll('.member')) row.classList.toggle('viewing', node === null ? row.dataset.self === 'true' : row.dataset.node === node)
    if (node !== null) void pollRemote(node)
  }

  async function pollRemote(node) {
    let error = null
    try {
      const response = await fetch('/introspect/member/tree?node=' + encodeURIComponent(node))
      const body = await response.json()
      if (viewing !== node) return
      if (response.ok) {
        renderTrees(body.shards)
        if (selected) void showDetails()
      } else error = body.error || 'HTTP ' + response.status
    } catch (e) {
      error = String(e)
    }
    if (viewing !== node) return
    if (error !== null) {
      const box = el('div', 'remote-error', node + ' unreachable: ' + error)
      box.dataset.node = node
      $('trees').replaceChildren(box)
    }
    remoteTimer = setTimeout(() => void pollRemote(node), Math.max(interval, 500))
  }

  function renderMembers(data) {
    const now = new Set()
    for (const m of data.members) {
      now.add(m.node)
      seen.set(m.node, m)
    }
    const rows = []
    for (const [node, known] of [...seen].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const m = now.has(node) ? known : Object.assign({}, known, { status: 'removed', leader: false })
      const tr = el('tr', 'member')
      tr.dataset.node = m.node
      tr.dataset.status = m.status
      tr.dataset.incarnation = String(m.incarnation)
      tr.dataset.leader = String(m.leader)
      tr.dataset.self = String(m.self)
      tr.dataset.unreachable = String(m.unreachable === true)
      if ((viewing === null && m.self) || viewing === m.node) tr.classList.add('viewing')
      tr.append(el('td', '', m.node + (m.self ? ' (this node)' : '')), el('td', '', m.status + (m.unreachable ? ' · unreachable from here' : '')), el('td', 'muted', '#' + m.incarnation), el('td', 'muted', m.roles.length > 0 ? m.roles.join(', ') : 'no roles'), el('td', 'leader', m.leader ? '★ leader' : ''))
      tr.addEventListener('click', () => view(m.self ? null : m.node))
      rows.push(tr)
    }
    $('members').replaceChildren(...rows)
  }

  async function pollMembers() {
    let next = Math.max(interval, 500)
    try {
      const response = await fetch('/introspect/cluster')
      if (response.ok) {
        $('cluster').hidden = false
        renderMembers(await response.json())
      } else {
        // No cluster state (yet): look again now and then, the node may still be joining.
        next = 5000
      }
    } catch {
      next = 2000
    }
    setTimeout(() => void pollMembers(), next)
  }
  void pollMembers()
})()
`
