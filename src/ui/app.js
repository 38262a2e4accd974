// Baton's dashboard: plain DOM, no framework, everything from this server. The key lives
// in this tab's sessionStorage and goes out only in the Authorization header. Every value
// shown is set as text (never as HTML), so no task field can inject markup.
'use strict';

const KEY = 'baton-key';
const ADMIN = 'baton-admin';      // '1' when the key is the server's admin key
const ACCOUNT = 'baton-account';  // the account an admin looks at
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let timer = null;       // the current page's refresh
let stream = null;      // the current task's live log stream

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function key() { return sessionStorage.getItem(KEY); }

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${key()}` };
  // The admin key acts for the account picked in the header (never for /v1/admin itself).
  if (sessionStorage.getItem(ADMIN) && !path.startsWith('/v1/admin/') && sessionStorage.getItem(ACCOUNT)) {
    headers['X-Baton-Account'] = sessionStorage.getItem(ACCOUNT);
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    const message = json && json.message ? json.message : `HTTP ${response.status}`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return json;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function badge(text) { return el('span', { class: `badge ${text}` }, text); }

function show(...nodes) {
  main.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
}

function notice(text, kind = 'error') { return el('p', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, text); }

// ---- Log in ----

function loginPage(message) {
  nav.hidden = true;
  const input = el('input', { type: 'password', id: 'key', autocomplete: 'off', placeholder: 'API key', 'aria-label': 'API key' });
  const form = el('form', { class: 'login', onsubmit: async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    sessionStorage.removeItem(ADMIN);
    sessionStorage.removeItem(ACCOUNT);
    try {
      await api('GET', '/v1/queues');
      location.hash = '#/queues';
      route();
    } catch (error) {
      // Not an account's key: perhaps the server's admin key, which sees every account.
      try {
        const { accounts } = await api('GET', '/v1/admin/accounts?limit=1000');
        sessionStorage.setItem(ADMIN, '1');
        if (accounts.length) sessionStorage.setItem(ACCOUNT, accounts[0].accountId);
        location.hash = '#/accounts';
        route();
      } catch {
        sessionStorage.removeItem(KEY);
        loginPage(error.status === 401 ? 'That key was not accepted.' : error.message);
      }
    }
  } },
  el('h1', {}, 'Log in'),
  el('p', { class: 'muted' }, 'An account\'s API key, or the server\'s admin key to see every account. It stays in this tab (session storage) and is sent only in the Authorization header.'),
  input,
  el('button', { type: 'submit' }, 'Log in'),
  message ? notice(message) : null);
  show(form);
  input.focus();
}

// ---- Queues ----

async function queuesPage() {
  const body = el('tbody');
  const status = el('p', { class: 'muted' });
  show(el('h1', {}, 'Queues'), status,
       el('div', { class: 'scroll' }, el('table', { id: 'queues' },
         el('thead', {}, el('tr', {}, ['Type', 'Pending', 'Scheduled', 'Claimed', 'Blocked', 'Review', 'Acceptance', 'Dead', 'Oldest', 'Created/min', 'Done/min', 'State', ''].map((h, i) => el('th', { class: i > 0 && i < 11 ? 'num' : null }, h)))),
         body)));
  const refresh = async () => {
    try {
      const { queues } = await api('GET', '/v1/queues');
      body.replaceChildren(...queues.map((q) => el('tr', { 'data-type': q.type },
        el('td', {}, el('a', { href: `#/tasks?type=${encodeURIComponent(q.type)}` }, q.type)),
        ...[q.pending, q.scheduled, q.claimed, q.blocked, q.awaiting_review, q.awaiting_acceptance, q.dead_lettered].map((n) => el('td', { class: 'num' }, n)),
        el('td', { class: 'num' }, age(q.oldest_pending_age_seconds)),
        el('td', { class: 'num' }, q.created_per_minute),
        el('td', { class: 'num' }, q.completed_per_minute),
        el('td', {}, badge(q.paused ? 'paused' : 'running')),
        el('td', {}, el('button', { type: 'button', class: q.paused ? null : 'danger', onclick: async () => {
          await api('POST', `/v1/queues/${encodeURIComponent(q.type)}/${q.paused ? 'resume' : 'pause'}`);
          refresh();
        } }, q.paused ? 'Resume' : 'Pause')))));
      status.textContent = queues.length ? `Live: refreshed ${new Date().toLocaleTimeString()}` : 'No queue holds anything yet.';
    } catch (error) {
      status.replaceChildren(notice(error.message));
    }
  };
  await refresh();
  timer = setInterval(refresh, 2000);
}

// ---- Tasks ----

function taskRow(task, withRequeue) {
  return el('tr', { 'data-id': task.id },
    el('td', {}, el('a', { href: `#/task/${task.id}` }, task.id)),
    el('td', {}, task.type),
    el('td', {}, badge(task.status)),
    el('td', { class: 'num' }, `${task.attemptCount}/${task.maxAttempts}`),
    el('td', {}, task.createdAt),
    el('td', {}, task.failureReason || ''),
    withRequeue ? el('td', {}, el('button', { type: 'button', onclick: async (event) => {
      event.target.disabled = true;
      await api('POST', `/v1/tasks/${task.id}/requeue`);
      route();
    } }, 'Requeue')) : null);
}

async function tasksPage(params, deadLetters) {
  const status = deadLetters ? 'dead_letter' : (params.get('status') || '');
  const type = params.get('type') || '';
  const statusSelect = el('select', { name: 'status', 'aria-label': 'Status' },
    ['', 'pending', 'claimed', 'blocked', 'awaiting_review', 'awaiting_acceptance', 'completed', 'dead_letter', 'cancelled']
      .map((s) => el('option', { value: s, selected: s === status }, s || 'any status')));
  const typeInput = el('input', { name: 'type', value: type, placeholder: 'type', 'aria-label': 'Type' });
  const filters = deadLetters ? null : el('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (statusSelect.value) query.set('status', statusSelect.value);
    if (typeInput.value.trim()) query.set('type', typeInput.value.trim());
    location.hash = `#/tasks?${query}`;
  } }, statusSelect, typeInput, el('button', { type: 'submit' }, 'Filter'));
  const body = el('tbody');
  const more = el('div', { class: 'actions' });
  show(el('h1', {}, deadLetters ? 'Dead letters' : 'Tasks'), filters,
       el('div', { class: 'scroll' }, el('table', { id: 'tasks' },
         el('thead', {}, el('tr', {}, ['Id', 'Type', 'Status', 'Attempts', 'Created', 'Failure', deadLetters ? '' : null].filter((h) => h !== null).map((h) => el('th', {}, h)))),
         body)), more);
  const load = async (cursor) => {
    const query = new URLSearchParams({ limit: '50' });
    if (status) query.set('status', status);
    if (type) query.set('type', type);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await api('GET', `/v1/tasks?${query}`);
      body.append(...page.tasks.map((task) => taskRow(task, deadLetters)));
      more.replaceChildren(page.tasks.length === 0 && !cursor ? el('p', { class: 'muted' }, 'Nothing here.') : '',
        page.next_cursor ? el('button', { type: 'button', onclick: () => load(page.next_cursor) }, 'More') : '');
    } catch (error) {
      more.replaceChildren(notice(error.message));
    }
  };
  await load(null);
}

// ---- One task ----

function field(name, value) {
  if (value === null || value === undefined || value === '') return [];
  return [el('dt', {}, name), el('dd', {}, typeof value === 'object' ? JSON.stringify(value) : String(value))];
}

async function taskPage(id) {
  let answer;
  try {
    answer = await api('GET', `/v1/tasks/${encodeURIComponent(id)}`);
  } catch (error) {
    show(el('h1', {}, 'Task'), notice(error.message));
    return;
  }
  const t = answer.task;
  const message = el('div');
  const act = (label, path, body, className) => el('button', { type: 'button', class: className, onclick: async () => {
    try {
      await api('POST', `/v1/tasks/${t.id}/${path}`, body);
      route();
    } catch (error) {
      message.replaceChildren(notice(error.message));
    }
  } }, label);
  const feedback = el('input', { placeholder: 'feedback', 'aria-label': 'Feedback' });
  const actions = [];
  if (t.status === 'pending' || t.status === 'claimed' || t.status === 'blocked') actions.push(act('Cancel', 'cancel', {}, 'danger'));
  if (t.status === 'dead_letter') actions.push(act('Requeue', 'requeue', {}));
  if (t.status === 'awaiting_review') {
    actions.push(feedback, act('Approve', 'review', { decision: 'approve' }));
    actions.push(el('button', { type: 'button', onclick: () => api('POST', `/v1/tasks/${t.id}/review`, { decision: 'revise', feedback: feedback.value }).then(route, (e) => message.replaceChildren(notice(e.message))) }, 'Revise'));
    actions.push(el('button', { type: 'button', class: 'danger', onclick: () => api('POST', `/v1/tasks/${t.id}/review`, { decision: 'reject', feedback: feedback.value }).then(route, (e) => message.replaceChildren(notice(e.message))) }, 'Reject'));
  }
  if (t.status === 'awaiting_acceptance') {
    actions.push(feedback, act('Accept', 'accept', {}));
    actions.push(el('button', { type: 'button', onclick: () => api('POST', `/v1/tasks/${t.id}/rework`, { feedback: feedback.value }).then(route, (e) => message.replaceChildren(notice(e.message))) }, 'Rework'));
  }
  const log = el('pre', { id: 'log' });
  const history = el('tbody');
  show(el('h1', {}, `Task ${t.id}`),
       el('div', { class: 'actions' }, badge(t.status), ...actions), message,
       el('dl', { class: 'fields' },
         ...field('Type', t.type), ...field('Priority', t.priority),
         ...field('Attempts', `${t.attemptCount} of ${t.maxAttempts}`),
         ...field('Created', t.createdAt), ...field('Updated', t.updatedAt),
         ...field('Scheduled at', t.scheduledAt), ...field('Claimed by', t.claimedBy),
         ...field('Lease expires', t.leaseExpiresAt), ...field('Failure', t.failureReason),
         ...field('Review feedback', t.review_feedback), ...field('Depends on', t.depends_on),
         ...field('Cost', t.cost), ...field('Budget (USD)', t.budgetUsd)),
       el('h2', {}, 'Payload'), el('pre', {}, JSON.stringify(t.payload, null, 2)),
       t.result ? el('h2', {}, 'Result') : null, t.result ? el('pre', {}, JSON.stringify(t.result, null, 2)) : null,
       el('h2', {}, 'History'),
       el('div', { class: 'scroll' }, el('table', { id: 'history' },
         el('thead', {}, el('tr', {}, ['At', 'Event', 'From', 'To', 'Attempt', 'Worker', 'Detail'].map((h, i) => el('th', { class: i === 4 ? 'num' : null }, h)))),
         history)),
       el('h2', {}, 'Log'), log);
  loadHistory(t.id, history);
  followLog(t.id, log);
}

async function loadHistory(id, body) {
  try {
    const { events, dropped } = await api('GET', `/v1/tasks/${encodeURIComponent(id)}/history`);
    const rows = events.map((e) => el('tr', {},
      el('td', {}, e.at), el('td', {}, e.event), el('td', {}, e.from || ''),
      el('td', {}, badge(e.to)), el('td', { class: 'num' }, e.attempt),
      el('td', {}, e.worker_id || ''), el('td', {}, e.detail || '')));
    if (dropped > 0) rows.unshift(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, `${dropped} older events not kept`)));
    body.replaceChildren(...rows);
  } catch (error) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 7 }, notice(error.message))));
  }
}

async function followLog(id, log) {
  // EventSource cannot send a header: a short-lived stream token for this task instead.
  try {
    const { token } = await api('POST', `/v1/tasks/${encodeURIComponent(id)}/logs/stream-token`);
    stream = new EventSource(`/v1/tasks/${encodeURIComponent(id)}/logs/stream?stream_token=${encodeURIComponent(token)}`);
    stream.onmessage = (event) => {
      const line = JSON.parse(event.data);
      log.append(`${line.timestamp || ''} ${line.level || ''} ${line.message}\n`);
      log.scrollTop = log.scrollHeight;
    };
    stream.addEventListener('end', () => { log.append('— the task ended —\n'); stream.close(); });
    stream.addEventListener('dropped', (event) => { log.append(`— stream dropped: ${event.data} —\n`); });
  } catch (error) {
    log.append(`(no live log: ${error.message})\n`);
  }
}

// ---- Schedules ----

async function schedulesPage() {
  const body = el('tbody');
  const message = el('div');
  show(el('h1', {}, 'Schedules'), message,
       el('div', { class: 'scroll' }, el('table', { id: 'schedules' },
         el('thead', {}, el('tr', {}, ['Name', 'Cron', 'Zone', 'Task type', 'Next', 'Last', 'Runs', 'State', ''].map((h) => el('th', {}, h)))),
         body)));
  try {
    const { schedules } = await api('GET', '/v1/schedules');
    body.replaceChildren(...schedules.map((s) => el('tr', { 'data-id': s.id },
      el('td', {}, s.name || s.id), el('td', {}, s.cron), el('td', {}, s.timezone), el('td', {}, s.task.type),
      el('td', {}, s.next_run_at || '—'), el('td', {}, s.last_task_id ? el('a', { href: `#/task/${s.last_task_id}` }, s.last_run_at) : '—'),
      el('td', { class: 'num' }, s.runs), el('td', {}, badge(s.enabled ? 'enabled' : 'disabled')),
      el('td', {}, el('button', { type: 'button', onclick: async () => {
        try {
          const fired = await api('POST', `/v1/schedules/${s.id}/trigger`, {});
          location.hash = `#/task/${fired.task.id}`;
        } catch (error) {
          message.replaceChildren(notice(error.message));
        }
      } }, 'Run now')))));
    if (!schedules.length) message.replaceChildren(el('p', { class: 'muted' }, 'No schedules yet (POST /v1/schedules).'));
  } catch (error) {
    message.replaceChildren(notice(error.message));
  }
}

// ---- Accounts (admin key) ----

async function accountsPage() {
  const body = el('tbody');
  show(el('h1', {}, 'Accounts'), el('p', { class: 'muted' }, 'Logged in with the admin key: pick the account the other pages show.'),
       el('div', { class: 'scroll' }, el('table', { id: 'accounts' },
         el('thead', {}, el('tr', {}, ['Account', 'Label', 'Plan', 'Created', ''].map((h) => el('th', {}, h)))), body)));
  const { accounts } = await api('GET', '/v1/admin/accounts?limit=1000');
  const current = sessionStorage.getItem(ACCOUNT);
  body.replaceChildren(...accounts.map((a) => el('tr', { 'data-id': a.accountId },
    el('td', {}, a.accountId), el('td', {}, a.label), el('td', {}, a.plan), el('td', {}, a.createdAt),
    el('td', {}, a.accountId === current ? badge('shown') : el('button', { type: 'button', onclick: () => {
      sessionStorage.setItem(ACCOUNT, a.accountId);
      location.hash = '#/queues';
    } }, 'Show')))));
}

// ---- Routing ----

function route() {
  if (timer) clearInterval(timer);
  timer = null;
  if (stream) stream.close();
  stream = null;
  if (!key()) {
    loginPage();
    return;
  }
  nav.hidden = false;
  const admin = Boolean(sessionStorage.getItem(ADMIN));
  document.getElementById('accounts-link').hidden = !admin;
  const shown = document.getElementById('shown-account');
  shown.textContent = admin ? `account ${sessionStorage.getItem(ACCOUNT) || '(none)'}` : '';
  const [path, query] = (location.hash.slice(1) || (admin ? '/accounts' : '/queues')).split('?');
  const params = new URLSearchParams(query || '');
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('active', path.startsWith(link.getAttribute('href').slice(1)));
  const page = path === '/accounts' && admin ? accountsPage()
    : path === '/tasks' ? tasksPage(params, false)
    : path === '/dead' ? tasksPage(params, true)
    : path.startsWith('/task/') ? taskPage(decodeURIComponent(path.slice('/task/'.length)))
    : path === '/schedules' ? schedulesPage()
    : queuesPage();
  page.catch((error) => {
    if (error.status === 401 || error.status === 403) {
      sessionStorage.removeItem(KEY);
      sessionStorage.removeItem(ADMIN);
      loginPage('Your key is no longer accepted.');
    } else {
      show(notice(error.message));
    }
  });
}

document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ADMIN);
  sessionStorage.removeItem(ACCOUNT);
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();
