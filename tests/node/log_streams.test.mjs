// Live task logs with the clients people run (docs/api.md "Live log streams"): the
// `eventsource` package (the WHATWG EventSource for Node) and `ws`, pinned in
// package-lock.json, against the real binary. Backlog then live lines in order, resume by
// Last-Event-ID, the end on completion, a slow reader dropped without stalling another,
// 1 000 idle streams with bounded memory and no CPU, stream tokens, and hostile frames.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { http, registerKey, startServer } from './harness.mjs';

// Small enough that a reader which stops reading is dropped after a few MB, large enough
// that one append (16 lines of 1 KB) never is.
const EXTRA = `task_logs:
  stream_buffer_bytes: 262144
  stream_heartbeat_seconds: 1
  max_streams: 1100
  max_streams_per_account: 1100
`;

let server;
let key;

before(async () => {
  server = await startServer({
    server: 'max_connections_per_ip: 3000, idle_timeout_seconds: 30',
    extra: EXTRA,
  });
  key = await registerKey(server.base);
});

after(async () => {
  await server?.stop();
});

async function claimedTask(type = `logs_${Date.now()}_${Math.random().toString(36).slice(2)}`) {
  const created = await http(server.base, 'POST', '/v1/tasks', { key, body: { type, payload: {} } });
  assert.equal(created.status, 201, created.text);
  const id = created.json.task.id;
  const claim = await http(server.base, 'POST', `/v1/tasks/${id}/claim`, { key, body: { worker_id: 'w' } });
  assert.equal(claim.status, 200, claim.text);
  return { id, token: claim.json.task.leaseToken };
}

async function append(task, messages) {
  const res = await http(server.base, 'POST', `/v1/tasks/${task.id}/logs`, {
    key,
    body: { lease_token: task.token, lines: messages.map((message) => ({ message })) },
  });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

async function complete(task) {
  const res = await http(server.base, 'POST', `/v1/tasks/${task.id}/complete`, {
    key,
    body: { lease_token: task.token },
  });
  assert.equal(res.status, 200, res.text);
}

function withKey(input, init) {
  return fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${key}` } });
}

// Collects an EventSource's lines until its `end` event; resolves with what it saw.
function follow(url, { fetchImpl = withKey } = {}) {
  const seen = { lines: [], ids: [], end: null, opened: null };
  seen.opened = new Promise((ready) => {
    seen.done = new Promise((done, fail) => {
      const source = new EventSource(url, { fetch: fetchImpl });
      seen.source = source;
      source.onopen = () => ready();
      source.onmessage = (event) => {
        seen.lines.push(JSON.parse(event.data));
        seen.ids.push(event.lastEventId);
      };
      source.addEventListener('end', (event) => {
        seen.end = JSON.parse(event.data);
        source.close();
        done(seen);
      });
      source.onerror = (error) => {
        if (source.readyState === EventSource.CLOSED) fail(new Error(`stream failed: ${error?.message}`));
      };
    });
  });
  return seen;
}

describe('Server-Sent Events with the eventsource client', () => {
  test('the backlog first, then live lines in order, then end on completion', async () => {
    const task = await claimedTask();
    await append(task, ['one', 'two']);
    const seen = follow(`${server.base}/v1/tasks/${task.id}/logs/stream`);
    await seen.opened;
    await append(task, ['three']);
    await append(task, ['four', 'five']);
    await complete(task);
    await seen.done;
    assert.deepEqual(seen.lines.map((l) => l.message), ['one', 'two', 'three', 'four', 'five']);
    assert.deepEqual(seen.ids, ['1', '2', '3', '4', '5']);
    assert.deepEqual(seen.lines.map((l) => l.seq), [1, 2, 3, 4, 5]);
    assert.equal(seen.lines[0].taskId, task.id);
    assert.equal(seen.lines[0].workerId, 'w');
    assert.ok(!Number.isNaN(Date.parse(seen.lines[0].timestamp)));
    assert.equal(seen.end.status, 'completed');
  });

  test('Last-Event-ID resumes after the last line seen', async () => {
    const task = await claimedTask();
    await append(task, ['a', 'b', 'c', 'd']);
    await complete(task);
    const res = await fetch(`${server.base}/v1/tasks/${task.id}/logs/stream`, {
      headers: { Authorization: `Bearer ${key}`, 'Last-Event-ID': '2' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const text = await res.text();  // the task is over: the stream ends by itself
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [3, 4]);
    assert.match(text, /event: end\ndata: \{[^\n]*"status":"completed"/);
  });

  test('an EventSource that reconnects resumes where it was, with no line twice', async () => {
    const task = await claimedTask();
    await append(task, ['x1', 'x2']);
    // The first connection is cut by the server's drain of nothing: simulate a lost
    // connection by closing it from here, then open a new EventSource with the id seen.
    const first = follow(`${server.base}/v1/tasks/${task.id}/logs/stream`);
    await first.opened;
    await new Promise((r) => setTimeout(r, 200));
    first.source.close();
    const last = first.ids.at(-1);
    assert.equal(last, '2');
    await append(task, ['x3']);
    const again = follow(`${server.base}/v1/tasks/${task.id}/logs/stream`, {
      fetchImpl: (input, init) =>
        fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${key}`, 'Last-Event-ID': last } }),
    });
    await again.opened;
    await complete(task);
    await again.done;
    assert.deepEqual(again.lines.map((l) => l.message), ['x3']);
  });

  test('a stream token opens the stream without the key; a key in the URL never does', async () => {
    const task = await claimedTask();
    await append(task, ['for the browser']);
    const issued = await http(server.base, 'POST', `/v1/tasks/${task.id}/logs/stream-token`, { key });
    assert.equal(issued.status, 201, issued.text);
    assert.match(issued.json.token, /^stk_/);
    const seen = follow(server.base + issued.json.url, { fetchImpl: fetch });
    await seen.opened;
    await complete(task);
    await seen.done;
    assert.deepEqual(seen.lines.map((l) => l.message), ['for the browser']);
    // The token is for that task only.
    const other = await claimedTask();
    const wrong = await http(server.base, 'GET', `/v1/tasks/${other.id}/logs/stream?stream_token=${issued.json.token}`);
    assert.equal(wrong.status, 401);
    const keyInUrl = await http(server.base, 'GET', `/v1/tasks/${other.id}/logs/stream?token=${key}`);
    assert.equal(keyInUrl.status, 400);
  });

  test('a reader that stops reading is dropped with a reason; another stream misses nothing', async () => {
    const task = await claimedTask();
    const fast = follow(`${server.base}/v1/tasks/${task.id}/logs/stream`);
    await fast.opened;
    // The slow reader: a raw socket that sends its request and reads nothing for now.
    const url = new URL(`${server.base}/v1/tasks/${task.id}/logs/stream`);
    const slow = net.connect(Number(url.port), url.hostname);
    slow.pause();
    await new Promise((r) => slow.once('connect', r));
    slow.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 300));
    const kilobyte = 'k'.repeat(1000);
    const batches = 300;  // 300 x 16 KB: past what the socket buffers and the stream's bound hold
    for (let b = 0; b < batches; ++b) {
      await append(task, Array(16).fill(kilobyte));
      // The reading stream keeps up (a loaded host, a sanitizer build): it is never more
      // than a batch behind, where the one that reads nothing falls further each time.
      for (let wait = 0; fast.lines.length < (b + 1) * 16 && wait < 500; ++wait) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await complete(task);
    await fast.done;
    assert.equal(fast.lines.length, batches * 16);
    assert.deepEqual(fast.lines.map((l) => l.seq), Array.from({ length: batches * 16 }, (_, i) => i + 1));
    // Now the slow reader reads: what was sent before it fell behind, then why it was dropped.
    let text = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk) => { text += chunk; });
    slow.resume();
    await new Promise((r) => slow.once('end', r));
    assert.match(text, /event: dropped\ndata: \{[^\n]*"reason":"slow_reader"/);
    assert.doesNotMatch(text, /event: end/);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.ok(ids.length < batches * 16, `the slow reader got ${ids.length} lines`);
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));  // in order, no gap
    // Both gone: their slots are free again.
    let open = -1;
    for (let i = 0; i < 50 && open !== 0; ++i) {
      open = (await http(server.base, 'GET', '/health')).json.log_streams.open;
      if (open !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(open, 0);
  });
});

describe('WebSocket with the ws client', () => {
  function open(taskId, headers = { Authorization: `Bearer ${key}` }) {
    const ws = new WebSocket(`${server.base.replace('http', 'ws')}/v1/tasks/${taskId}/logs/stream`, { headers });
    const seen = { messages: [] };
    seen.opened = new Promise((r, fail) => { ws.once('open', r); ws.once('error', fail); });
    seen.closed = new Promise((r) => ws.once('close', (code) => r(code)));
    ws.on('message', (m) => seen.messages.push(JSON.parse(m.toString())));
    seen.ws = ws;
    return seen;
  }

  test('the backlog is the first message, then each line as seed 004 shapes it, then end', async () => {
    const task = await claimedTask();
    await append(task, ['first', 'second']);
    const seen = open(task.id);
    await seen.opened;
    await new Promise((r) => setTimeout(r, 200));
    await append(task, ['third']);
    await complete(task);
    const code = await seen.closed;
    assert.equal(code, 1000);
    assert.equal(seen.messages[0].type, 'logs');
    assert.deepEqual(seen.messages[0].data.map((l) => l.message), ['first', 'second']);
    const live = seen.messages.slice(1, -1).flatMap((m) => m.data.map((l) => l.message));
    assert.deepEqual(live, ['third']);
    assert.deepEqual(seen.messages.at(-1), { type: 'end', data: { taskId: task.id, status: 'completed' } });
  });

  test('without a key the handshake is refused', async () => {
    const task = await claimedTask();
    const seen = open(task.id, {});
    await assert.rejects(seen.opened, /401/);
  });

  test('bad frames close the connection and the server stays up', async () => {
    const task = await claimedTask();
    const url = new URL(server.base);
    for (const frame of [
      Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]),  // unmasked text frame from a client
      Buffer.from([0x8f, 0x80, 1, 2, 3, 4]),                    // an unknown opcode
      Buffer.concat([Buffer.from([0x81, 0xfe, 0x20, 0x00, 1, 2, 3, 4]), Buffer.alloc(8192)]),  // 8 KB: past the bound
    ]) {
      const socket = net.connect(Number(url.port), url.hostname);
      await new Promise((r) => socket.once('connect', r));
      let text = '';
      socket.on('data', (chunk) => { text += chunk.toString('latin1'); });
      socket.write(`GET /v1/tasks/${task.id}/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      await new Promise((r) => setTimeout(r, 200));
      assert.match(text, /^HTTP\/1\.1 101/);
      socket.write(frame);
      await new Promise((r) => socket.once('close', r));
    }
    const health = await http(server.base, 'GET', '/health');
    assert.equal(health.status, 200);
  });
});

describe('idle streams', () => {
  function rss(pid) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  }
  function cpuTicks(pid) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);  // utime + stime, in clock ticks
  }

  test('1 000 idle streams hold bounded memory and cost no CPU while idle', async () => {
    const task = await claimedTask();
    await append(task, ['held']);
    const url = new URL(server.base);
    const before = rss(server.pid);
    const sockets = [];
    const opened = [];
    for (let i = 0; i < 1000; ++i) {
      const socket = net.connect(Number(url.port), url.hostname);
      sockets.push(socket);
      opened.push(new Promise((done, fail) => {
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
          if (text.includes('data: ')) done();
        });
        socket.once('error', fail);
      }));
      socket.write(`GET /v1/tasks/${task.id}/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`);
    }
    await Promise.all(opened);
    const held = rss(server.pid) - before;
    // Idle: a keep-alive a second (stream_heartbeat_seconds: 1) on each, and nothing else.
    const ticks = cpuTicks(server.pid);
    await new Promise((r) => setTimeout(r, 3000));
    const spent = cpuTicks(server.pid) - ticks;
    console.log(`1000 idle streams: +${(held / 1048576).toFixed(1)} MiB RSS, ${spent} CPU ticks in 3 s`);
    assert.ok(held < 64 * 1048576, `1000 streams took ${held} bytes`);
    assert.ok(spent < 100, `idle streams used ${spent} ticks of CPU in 3 s`);  // < 1 s of 3
    // Requests are served as usual meanwhile.
    const extra = [];
    for (let i = 0; i < 100; ++i) {
      extra.push(http(server.base, 'GET', `/v1/tasks/${task.id}/logs?after=0`, { key }));
    }
    for (const r of await Promise.all(extra)) assert.equal(r.status, 200);
    for (const socket of sockets) socket.destroy();
  });
});
