// The official MCP TypeScript SDK (Client + Streamable HTTP transport) against the real
// binary: a worker's whole loop over POST /mcp, with a long-poll claim woken by a task
// created over plain HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { http, registerKey, startServer } from './harness.mjs';

let server;
let key;
let client;
let transport;
const transportErrors = [];

before(async () => {
  server = await startServer();
  key = await registerKey(server.base);
  transport = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  client = new Client({ name: 'baton-node-test', version: '1.0.0' });
  client.onerror = (err) => transportErrors.push(err);
  await client.connect(transport);
});

after(async () => {
  await client?.close().catch(() => {});
  const result = await server?.stop();
  // SIGTERM is a clean shutdown: exit code 0.
  if (result) assert.equal(result.code, 0, `baton exited with ${JSON.stringify(result)}:\n${server.log()}`);
});

// A tool call whose result must not be an error; its structuredContent.
async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name} failed: ${JSON.stringify(result)}`);
  assertTextMatchesStructured(result);
  return result.structuredContent;
}

// The text content is the same JSON as structuredContent (the HTTP body twice).
function assertTextMatchesStructured(result) {
  assert.equal(result.content.length, 1);
  assert.equal(result.content[0].type, 'text');
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
}

function assertToolError(result, code) {
  assert.equal(result.isError, true, `expected isError: ${JSON.stringify(result)}`);
  assertTextMatchesStructured(result);
  const body = result.structuredContent;
  assert.equal(body.error, code, JSON.stringify(body));
  assert.equal(typeof body.message, 'string');
  assert.match(body.request_id, /^req_/);
  assert.equal(typeof body.agent_contract, 'object');
  assert.ok(Array.isArray(body.agent_contract.next_actions), JSON.stringify(body));
  return body;
}

test('initialize agreed a protocol version and named the server', () => {
  assert.equal(client.getServerVersion()?.name, 'baton');
  assert.ok(client.getServerCapabilities()?.tools, 'tools capability');
  assert.match(client.getInstructions() ?? '', /claim_task/);
  assert.match(transport.sessionId ?? '', /^mcp_/);
  // The SDK asks for the newest version it knows; the server supports it.
  assert.equal(transport.protocolVersion, '2025-11-25');
});

test('tools/list names every task and key tool, each with an object inputSchema', async () => {
  const { tools } = await client.listTools();
  const byName = new Map(tools.map((t) => [t.name, t]));
  const expected = [
    'create_task', 'list_tasks', 'claim_task', 'get_task', 'claim_task_by_id', 'heartbeat',
    'complete_task', 'fail_task', 'cancel_task', 'requeue_task', 'list_keys', 'create_key',
    'revoke_key',
  ];
  for (const name of expected) {
    const tool = byName.get(name);
    assert.ok(tool, `tool ${name} missing from ${[...byName.keys()]}`);
    assert.equal(tool.inputSchema.type, 'object', name);
    assert.equal(typeof tool.description, 'string', name);
  }
  // Registration needs no key and is not a tool; discovery is not either, nor the
  // operator's backup (the admin key's, and an MCP session is an account's).
  assert.ok(!byName.has('register_account'));
  assert.ok(!byName.has('create_backup'));
  assert.deepEqual(byName.get('create_task').inputSchema.required, ['type', 'payload']);
  assert.equal(byName.get('create_task').inputSchema.properties.priority.maximum, 100);
  assert.ok(byName.get('claim_task').inputSchema.properties.wait_seconds);
  assert.deepEqual([...byName.get('heartbeat').inputSchema.required], ['task_id']);
  assert.ok(byName.get('complete_task').inputSchema.properties.lease_token);
});

test('a worker loop over MCP: long-poll claim woken by an HTTP create, heartbeat, complete, fencing', async () => {
  // A task created over MCP, of its own type, then read back over HTTP.
  const created = await call('create_task', {
    type: 'mcp_made', payload: { n: 1 }, priority: 7, maxAttempts: 2,
  });
  assert.match(created.task.id, /^tsk_/);
  assert.equal(created.task.status, 'pending');
  assert.equal(created.task.priority, 7);
  const seen = await http(server.base, 'GET', `/v1/tasks/${created.task.id}`, { key });
  assert.equal(seen.status, 200);
  assert.equal(seen.json.task.type, 'mcp_made');
  assert.deepEqual(seen.json.task.payload, { n: 1 });

  // The claim waits for a type that has no task yet.
  const type = 'mcp_long_poll';
  const started = Date.now();
  let settled = false;
  const claiming = client
    .callTool({ name: 'claim_task', arguments: { type, worker_id: 'sdk-worker', wait_seconds: 5 } })
    .finally(() => { settled = true; });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(settled, false, 'the claim answered before any task of its type existed');

  const made = await http(server.base, 'POST', '/v1/tasks', {
    key, body: { type, payload: { document: 'a.pdf' }, leaseDurationSeconds: 30 },
  });
  assert.equal(made.status, 201, made.text);
  const taskId = made.json.task.id;

  const claimed = await claiming;
  const waited = Date.now() - started;
  assert.notEqual(claimed.isError, true, JSON.stringify(claimed));
  assertTextMatchesStructured(claimed);
  const claim = claimed.structuredContent;
  assert.ok(waited >= 600 && waited < 4500, `claim answered after ${waited} ms`);
  assert.equal(claim.task.id, taskId);
  assert.equal(claim.task.status, 'claimed');
  assert.equal(claim.task.claimedBy, 'sdk-worker');
  assert.match(claim.task.leaseToken, /^lse_[0-9a-f]{32}$/);
  const lease = claim.task.leaseToken;
  const next = claim.agent_contract.next_actions.map((a) => a.action);
  assert.ok(next.includes('heartbeat'), `next_actions: ${next}`);

  // Heartbeat with the token renews the lease.
  const beat = await call('heartbeat', { task_id: taskId, lease_token: lease });
  assert.equal(beat.task.status, 'claimed');
  assert.equal(beat.task.leaseToken, lease);
  assert.ok(Date.parse(beat.task.leaseExpiresAt) >= Date.parse(claim.task.leaseExpiresAt));

  // A stale token while the task is claimed: 409 lease_expired, and nothing changes.
  const stale = `lse_${'0'.repeat(32)}`;
  assert.notEqual(stale, lease);
  const staleBeat = await client.callTool({
    name: 'heartbeat', arguments: { task_id: taskId, lease_token: stale },
  });
  assertToolError(staleBeat, 'lease_expired');
  const staleComplete = await client.callTool({
    name: 'complete_task', arguments: { task_id: taskId, lease_token: stale, result: { stolen: true } },
  });
  assertToolError(staleComplete, 'lease_expired');
  const still = await http(server.base, 'GET', `/v1/tasks/${taskId}`, { key });
  assert.equal(still.json.task.status, 'claimed');
  assert.equal(still.json.task.leaseToken, undefined, 'a read must not reveal the lease token');
  assert.equal(still.json.task.leaseExpiresAt, beat.task.leaseExpiresAt);

  // Complete with the right token.
  const done = await call('complete_task', {
    task_id: taskId, lease_token: lease, result: { output_id: 'out_01' },
  });
  assert.equal(done.task.status, 'completed');
  assert.deepEqual(done.task.result, { output_id: 'out_01' });

  // Completing again with the same token is the same answer; a stale token now meets a
  // completed task: 409 invalid_transition; a heartbeat too.
  const again = await call('complete_task', {
    task_id: taskId, lease_token: lease, result: { output_id: 'out_01' },
  });
  assert.equal(again.task.status, 'completed');
  assert.equal(again.task.completedAt, done.task.completedAt);
  assertToolError(
    await client.callTool({
      name: 'complete_task', arguments: { task_id: taskId, lease_token: stale, result: {} },
    }),
    'invalid_transition',
  );
  assertToolError(
    await client.callTool({ name: 'heartbeat', arguments: { task_id: taskId, lease_token: lease } }),
    'invalid_transition',
  );

  const final = await http(server.base, 'GET', `/v1/tasks/${taskId}`, { key });
  assert.equal(final.status, 200);
  assert.equal(final.json.task.status, 'completed');
  assert.deepEqual(final.json.task.result, { output_id: 'out_01' });
  assert.ok(final.json.agent_contract);
});

test('a claim with nothing to claim waits wait_seconds and answers task null', async () => {
  const started = Date.now();
  const none = await call('claim_task', { type: 'never_made', wait_seconds: 1 });
  const waited = Date.now() - started;
  assert.equal(none.task, null);
  assert.ok(waited >= 900 && waited < 4000, `answered after ${waited} ms`);
});

test('a client that closes during a long-poll claim takes no task with it', async () => {
  const c = new Client({ name: 'leaver', version: '1.0.0' });
  const t = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await c.connect(t);
  const type = 'left_behind';
  const claiming = c.callTool({ name: 'claim_task', arguments: { type, wait_seconds: 5 } });
  await new Promise((r) => setTimeout(r, 500));
  await c.close();  // aborts the open POST: the server sees the connection close
  await assert.rejects(claiming);
  await new Promise((r) => setTimeout(r, 300));
  const made = await http(server.base, 'POST', '/v1/tasks', { key, body: { type, payload: {} } });
  assert.equal(made.status, 201, made.text);
  await new Promise((r) => setTimeout(r, 500));
  const seen = await http(server.base, 'GET', `/v1/tasks/${made.json.task.id}`, { key });
  assert.equal(seen.json.task.status, 'pending', JSON.stringify(seen.json.task));
  assert.equal(seen.json.task.attemptCount, 0);
  // And the next worker gets it.
  const next = await call('claim_task', { type, wait_seconds: 1 });
  assert.equal(next.task?.id, made.json.task.id);
});

test('a long-poll claim called off with an AbortSignal takes no task, though its POST stays open', async () => {
  // A client of its own: the server's late answer to the called-off request reaches the SDK
  // as "a response for an unknown message ID", which it reports through onerror.
  const c = new Client({ name: 'canceller', version: '1.0.0' });
  const errors = [];
  c.onerror = (err) => errors.push(err);
  const t = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await c.connect(t);
  try {
    const type = 'called_off';
    const abort = new AbortController();
    const claiming = c.callTool(
      { name: 'claim_task', arguments: { type, wait_seconds: 5 } },
      undefined,
      { signal: abort.signal },
    );
    await new Promise((r) => setTimeout(r, 500));
    // The SDK sends notifications/cancelled with the call's requestId and rejects the call;
    // the POST carrying the call is not aborted (the transport keeps its connection).
    abort.abort('the agent changed its mind');
    await assert.rejects(claiming);
    await new Promise((r) => setTimeout(r, 300));

    const made = await http(server.base, 'POST', '/v1/tasks', { key, body: { type, payload: {} } });
    assert.equal(made.status, 201, made.text);
    await new Promise((r) => setTimeout(r, 500));
    const seen = await http(server.base, 'GET', `/v1/tasks/${made.json.task.id}`, { key });
    assert.equal(seen.status, 200);
    assert.equal(seen.json.task.status, 'pending', JSON.stringify(seen.json.task));
    assert.equal(seen.json.task.attemptCount, 0);

    // The called-off call was answered on its open POST, with no task.
    const late = errors.map(String).find((e) => /unknown message ID/.test(e));
    assert.ok(late, `no late answer to the called-off call; SDK errors: ${errors.map(String)}`);
    const answer = JSON.parse(late.slice(late.indexOf('{')));
    assert.equal(answer.result.structuredContent.task, null, late);

    // And the next claim gets the task.
    const next = await call('claim_task', { type, wait_seconds: 1 });
    assert.equal(next.task?.id, made.json.task.id);
    assert.equal(next.task.attemptCount, 1);
  } finally {
    await c.close();
  }
});

test('get_task of an unknown id is a tool error task_not_found', async () => {
  assertToolError(
    await client.callTool({ name: 'get_task', arguments: { task_id: 'tsk_nope' } }),
    'task_not_found',
  );
});

test('an unknown tool is a JSON-RPC error -32602 (McpError)', async () => {
  await assert.rejects(
    client.callTool({ name: 'no_such_tool', arguments: {} }),
    (err) => {
      assert.ok(err instanceof McpError, `not an McpError: ${err}`);
      assert.equal(err.code, ErrorCode.InvalidParams);
      assert.equal(err.code, -32602);
      assert.match(err.message, /no_such_tool/);
      return true;
    },
  );
});

test('arguments that fail validation are a tool error invalid_request', async () => {
  const body = assertToolError(
    await client.callTool({
      name: 'create_task', arguments: { type: 'bad_priority', payload: {}, priority: 101 },
    }),
    'invalid_request',
  );
  assert.match(body.message, /priority/);
  const missing = assertToolError(
    await client.callTool({ name: 'create_task', arguments: { type: 'no_payload' } }),
    'invalid_request',
  );
  assert.match(missing.message, /payload/);
  // Nothing was created.
  const list = await http(server.base, 'GET', '/v1/tasks?type=bad_priority', { key });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.tasks, []);
});

test('the tool sees the same account as the Bearer key', async () => {
  const keys = await call('list_keys', {});
  assert.ok(Array.isArray(keys.keys) && keys.keys.length >= 1, JSON.stringify(keys));
  // Another account sees none of this account's tasks, over MCP either.
  const otherKey = await registerKey(server.base);
  const other = new Client({ name: 'other', version: '1.0.0' });
  const otherTransport = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: `Bearer ${otherKey}` } },
  });
  await other.connect(otherTransport);
  try {
    const result = await other.callTool({ name: 'list_tasks', arguments: {} });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.deepEqual(result.structuredContent.tasks, []);
  } finally {
    await other.close();
  }
});

test('a bad key is refused before MCP: connect fails with 401', async () => {
  const bad = new Client({ name: 'bad', version: '1.0.0' });
  const badTransport = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: 'Bearer orch_live_wrong' } },
  });
  await assert.rejects(bad.connect(badTransport), (err) => {
    assert.match(String(err), /401|invalid_api_key/);
    return true;
  });
});

test('terminating the session ends it: the id is then unknown (404)', async () => {
  const c = new Client({ name: 'ender', version: '1.0.0' });
  const t = new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await c.connect(t);
  const sessionId = t.sessionId;
  assert.match(sessionId, /^mcp_/);
  await t.terminateSession();
  const res = await fetch(new URL('/mcp', server.base), {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'Mcp-Session-Id': sessionId,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
  });
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.id, 9);
  assert.equal(body.error.code, -32001);
  await c.close();
});

test('GET /mcp answers 405 with Allow (no event stream)', async () => {
  const res = await http(server.base, 'GET', '/mcp', {
    key, headers: { Accept: 'text/event-stream' },
  });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow') ?? '', /POST/);
  assert.equal(res.json.error, 'method_not_allowed');
});

test('the SDK reported no transport or protocol error along the way', () => {
  assert.deepEqual(transportErrors.map(String), []);
});
