// The live OpenAPI document (GET /v1/schema): Redocly's linter (2.77.0, recommended rules)
// finds no problem in it, and live answers validate against the schema the document
// declares for their path, method and status (JSON Schema 2020-12, as OpenAPI 3.1 says).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_KEY, here, http, registerKey, startServer } from './harness.mjs';

// No new dependency: the Ajv 8 (and ajv-formats) that the MCP SDK validates with.
const sdkRequire = createRequire(import.meta.resolve('@modelcontextprotocol/sdk/validation/ajv'));
const Ajv2020 = sdkRequire('ajv/dist/2020').default;
const addFormats = sdkRequire('ajv-formats').default;

const redocly = join(here, 'node_modules/.bin/redocly');

let server;
let key;
let doc;
let dir;

before(async () => {
  server = await startServer();
  key = await registerKey(server.base);
  const res = await http(server.base, 'GET', '/v1/schema');
  assert.equal(res.status, 200, res.text);
  doc = res.json;
  dir = mkdtempSync(join(tmpdir(), 'baton-openapi-'));
});

after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  const result = await server?.stop();
  if (result) assert.equal(result.code, 0, `baton exited with ${JSON.stringify(result)}:\n${server.log()}`);
});

function run(file, args) {
  // No telemetry and no update check: the linter talks to no one.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  return new Promise((done) => {
    execFile(file, args, { env, timeout: 120000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('the document is OpenAPI 3.1 and names every operation', () => {
  assert.equal(doc.openapi, '3.1.0');
  const ids = Object.values(doc.paths).flatMap((item) => Object.values(item))
    .map((op) => op.operationId).filter(Boolean);
  for (const id of ['create_task', 'create_tasks', 'list_tasks', 'claim_task', 'get_task', 'claim_task_by_id',
    'heartbeat', 'complete_task', 'fail_task', 'cancel_task', 'requeue_task', 'register_account',
    'list_keys', 'create_key', 'revoke_key', 'create_backup', 'get_openapi_schema', 'mcp']) {
    assert.ok(ids.includes(id), `operationId ${id} missing from ${ids}`);
  }
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
});

test('redocly lint (recommended rules) reports no error and no warning', async () => {
  const file = join(dir, 'baton-openapi.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  const lint = await run(redocly, ['lint', file, '--format', 'json', '--max-problems', '1000']);
  let report;
  try {
    report = JSON.parse(lint.stdout);
  } catch {
    assert.fail(`redocly printed no JSON (exit ${lint.code}):\n${lint.stdout}\n${lint.stderr}`);
  }
  const problems = report.problems.map((p) =>
    `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.map((l) => l.pointer).join(', ')}`);
  assert.equal(report.totals.errors, 0, problems.join('\n'));
  assert.equal(report.totals.warnings, 0, problems.join('\n'));
  assert.equal(lint.code, 0, `${lint.stdout}\n${lint.stderr}`);
});

// ---- Live answers against the document's own response schemas ----

// Two copies of the document: as served, and "closed", where every object schema that lists
// its properties and says nothing of others gets unevaluatedProperties: false, so an answer
// field the document does not name is caught too. Task, claim, key and error answers are
// checked closed; the discovery documents, which carry more than their schemas list, open.
let ajv;
function compileDocuments() {
  ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc, 'baton-openapi');
  const closed = structuredClone(doc);
  const close = (node) => {
    if (Array.isArray(node)) return node.forEach(close);
    if (!node || typeof node !== 'object') return;
    if (node.type === 'object' && node.properties && !('additionalProperties' in node) &&
        !('unevaluatedProperties' in node)) {
      node.unevaluatedProperties = false;
    }
    Object.values(node).forEach(close);
  };
  close(closed.components.schemas);
  ajv.addSchema(closed, 'baton-openapi-closed');
}

function schemaValidator(pointerSegments, { open = false } = {}) {
  if (!ajv) compileDocuments();
  const base = open ? 'baton-openapi' : 'baton-openapi-closed';
  const pointer = pointerSegments
    .map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');
  const ref = `${base}#/${pointer}`;
  return ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
}

function validatorFor(method, template, status, options) {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(operation, `the document has no ${method} ${template}`);
  const response = operation.responses[String(status)];
  assert.ok(response, `${method} ${template} declares no ${status} answer (declared: ${Object.keys(operation.responses)})`);
  const schema = response.content?.['application/json']?.schema;
  assert.ok(schema, `${method} ${template} ${status} declares no application/json schema`);
  return schemaValidator(['paths', template, method.toLowerCase(), 'responses', String(status),
    'content', 'application/json', 'schema'], options);
}

test('the validators are not vacuous: wrong answers fail them', () => {
  const created = validatorFor('POST', '/v1/tasks', 201);
  assert.equal(created({ task: { id: 'tsk_x' }, agent_contract: {} }), false);
  const task = schemaValidator(['components', 'schemas', 'Task']);
  const good = {
    id: 'tsk_01M958Z49200CD3Z3NNC8T6000', type: 't', status: 'pending', payload: {}, priority: 0,
    maxAttempts: 3, attemptCount: 0, leaseDurationSeconds: 30,
    createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
  };
  assert.equal(task(good), true, JSON.stringify(task.errors));
  assert.equal(task({ ...good, status: 'done' }), false);
  assert.equal(task({ ...good, createdAt: 'yesterday' }), false, 'date-time is checked');
  assert.equal(task({ ...good, surprise: 1 }), false, 'closed: an unnamed field fails');
  assert.equal(schemaValidator(['components', 'schemas', 'Task'], { open: true })({ ...good, surprise: 1 }), true);
});

// Sends the request and checks its answer against what the document declares for it.
async function checked(method, path, template, { open = false, ...options } = {}) {
  const res = await http(server.base, method, path, { key, ...options });
  const validate = validatorFor(method, template, res.status, { open });
  const ok = validate(res.json);
  assert.ok(ok, `${method} ${path} ${res.status} does not match the document:\n` +
    `${JSON.stringify(validate.errors, null, 2)}\nbody: ${res.text}`);
  return res;
}

test('live answers validate against the document (tasks, claims, errors)', async () => {
  const created = await checked('POST', '/v1/tasks', '/v1/tasks', {
    body: { type: 'schema_check', payload: { a: 1 }, priority: 5, delaySeconds: 0 },
  });
  assert.equal(created.status, 201);
  const id = created.json.task.id;

  await checked('GET', '/v1/tasks?limit=5', '/v1/tasks');
  const batch = await checked('POST', '/v1/tasks/batch', '/v1/tasks/batch', {
    body: { tasks: [{ type: 'schema_batch', payload: {} }, { type: 'schema_batch', payload: { i: 2 } }] },
  });
  assert.equal(batch.status, 201);
  assert.equal(batch.json.taskIds.length, 2);
  const several = await checked('POST', '/v1/tasks/claim', '/v1/tasks/claim', {
    body: { type: 'schema_batch', max_tasks: 5 },
  });
  assert.equal(several.json.tasks.length, 2);

  await checked('GET', `/v1/tasks/${id}`, '/v1/tasks/{task_id}');

  const claim = await checked('POST', '/v1/tasks/claim', '/v1/tasks/claim', {
    body: { type: 'schema_check', worker_id: 'w1' },
  });
  assert.equal(claim.status, 200);
  assert.equal(claim.json.task.id, id);
  const lease = claim.json.task.leaseToken;
  // A claim that finds nothing: task null.
  const empty = await checked('POST', '/v1/tasks/claim', '/v1/tasks/claim', {
    body: { type: 'schema_check', wait_seconds: 0 },
  });
  assert.equal(empty.json.task, null);

  const beat = await checked('POST', `/v1/tasks/${id}/heartbeat`, '/v1/tasks/{task_id}/heartbeat', {
    body: { lease_token: lease },
  });
  assert.equal(beat.status, 200);
  const roster = await checked('GET', '/v1/workers', '/v1/workers');
  assert.ok(roster.json.workers.some((w) => w.worker_id === 'w1'), JSON.stringify(roster.json));
  const stale = await checked('POST', `/v1/tasks/${id}/heartbeat`, '/v1/tasks/{task_id}/heartbeat', {
    body: { lease_token: `lse_${'f'.repeat(32)}` },
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.error, 'lease_expired');
  const done = await checked('POST', `/v1/tasks/${id}/complete`, '/v1/tasks/{task_id}/complete', {
    body: { lease_token: lease, result: { output_id: 'o1' } },
  });
  assert.equal(done.status, 200);
  assert.equal(done.json.task.status, 'completed');

  // A second task, failed for good, then requeued; a third cancelled.
  const second = await checked('POST', '/v1/tasks', '/v1/tasks', {
    body: { type: 'schema_fail', payload: {}, maxAttempts: 1 },
  });
  const sid = second.json.task.id;
  const byId = await checked('POST', `/v1/tasks/${sid}/claim`, '/v1/tasks/{task_id}/claim', { body: {} });
  assert.equal(byId.status, 200);
  const failed = await checked('POST', `/v1/tasks/${sid}/fail`, '/v1/tasks/{task_id}/fail', {
    body: { lease_token: byId.json.task.leaseToken, reason: 'no', retryable: false },
  });
  assert.equal(failed.json.task.status, 'dead_letter');
  const requeued = await checked('POST', `/v1/tasks/${sid}/requeue`, '/v1/tasks/{task_id}/requeue', { body: {} });
  assert.equal(requeued.json.task.status, 'pending');
  const cancelled = await checked('POST', `/v1/tasks/${sid}/cancel`, '/v1/tasks/{task_id}/cancel', { body: {} });
  assert.equal(cancelled.json.task.status, 'cancelled');

  // Error bodies.
  const missing = await checked('GET', '/v1/tasks/tsk_nope', '/v1/tasks/{task_id}');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error, 'task_not_found');
  const invalid = await checked('POST', '/v1/tasks', '/v1/tasks', {
    body: { type: 'x', payload: {}, priority: 101 },
  });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json.error, 'invalid_request');
  const transition = await checked('POST', `/v1/tasks/${id}/cancel`, '/v1/tasks/{task_id}/cancel', { body: {} });
  assert.equal(transition.status, 409);
  assert.equal(transition.json.error, 'invalid_transition');
  const unauthorized = await checked('GET', '/v1/tasks', '/v1/tasks', { key: 'orch_live_wrong' });
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.json.error, 'invalid_api_key');
  const media = await checked('POST', '/v1/tasks', '/v1/tasks', {
    headers: { 'Content-Type': 'text/plain' }, raw: '{"type":"x","payload":{}}',
  });
  assert.equal(media.status, 415);
  assert.equal(media.json.error, 'unsupported_media_type');
});

test('live answers validate against the document (keys and discovery)', async () => {
  await checked('POST', '/v1/keys/register', '/v1/keys/register', { key: undefined, body: {} });
  const created = await checked('POST', '/v1/keys', '/v1/keys', { body: { label: 'second' } });
  assert.equal(created.status, 201);
  await checked('GET', '/v1/keys', '/v1/keys');
  const revoked = await checked('DELETE', `/v1/keys/${created.json.keyId}`, '/v1/keys/{key_id}');
  assert.equal(revoked.status, 200);
  const gone = await checked('DELETE', '/v1/keys/key_nope', '/v1/keys/{key_id}');
  assert.equal(gone.status, 404);
  // The admin operation: its answer, a refused target, an API key instead of the admin key.
  const to = join(server.dir, 'snapshot');
  const backup = await checked('POST', '/v1/admin/backup', '/v1/admin/backup', { key: ADMIN_KEY, body: { to } });
  assert.equal(backup.status, 200);
  assert.equal(backup.json.path, to);
  const taken = await checked('POST', '/v1/admin/backup', '/v1/admin/backup', { key: ADMIN_KEY, body: { to } });
  assert.equal(taken.status, 400);
  assert.equal(taken.json.error, 'invalid_request');
  const forbidden = await checked('POST', '/v1/admin/backup', '/v1/admin/backup', { body: { to: `${to}2` } });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.json.error, 'forbidden');
  await checked('GET', '/health', '/health', { key: undefined });
  await checked('GET', '/.well-known/agent.json', '/.well-known/agent.json', { key: undefined, open: true });
  await checked('GET', '/v1/capabilities', '/v1/capabilities', { key: undefined, open: true });
  await checked('GET', '/v1/tool', '/v1/tool', { key: undefined, open: true });
  await checked('GET', '/v1/schema', '/v1/schema', { key: undefined, open: true });
});

test('live MCP answers validate against the document (POST /mcp)', async () => {
  const post = (body, headers = {}) => http(server.base, 'POST', '/mcp', {
    key, body, headers: { Accept: 'application/json, text/event-stream', ...headers },
  });
  const init = await post({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  assert.equal(init.status, 200);
  assert.ok(validatorFor('POST', '/mcp', 200)(init.json));
  const session = init.headers.get('mcp-session-id');
  assert.ok(session);
  const headers = { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' };
  const listed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers);
  assert.ok(validatorFor('POST', '/mcp', listed.status)(listed.json), listed.text);
  const called = await post({
    jsonrpc: '2.0', id: 'c', method: 'tools/call',
    params: { name: 'get_task', arguments: { task_id: 'tsk_nope' } },
  }, headers);
  assert.equal(called.status, 200);
  assert.ok(validatorFor('POST', '/mcp', 200)(called.json), called.text);
  assert.equal(called.json.result.isError, true);
  // The tool error's structuredContent is the HTTP error body: the Error schema.
  const errorSchema = schemaValidator(['components', 'schemas', 'Error']);
  assert.ok(errorSchema(called.json.result.structuredContent), JSON.stringify(errorSchema.errors));
  const noSession = await post({ jsonrpc: '2.0', id: 3, method: 'ping' });
  assert.equal(noSession.status, 400);
  assert.ok(validatorFor('POST', '/mcp', 400)(noSession.json), noSession.text);
  const badKey = await http(server.base, 'POST', '/mcp', {
    key: 'orch_live_wrong', body: { jsonrpc: '2.0', id: 4, method: 'ping' },
  });
  assert.equal(badKey.status, 401);
  assert.ok(validatorFor('POST', '/mcp', 401)(badKey.json), badKey.text);
});
