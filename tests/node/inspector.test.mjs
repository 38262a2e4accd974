// The MCP Inspector (1.0.3) in CLI mode against the real binary's POST /mcp, with the API key
// sent as a header (--header "Authorization: Bearer ...").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { http, registerKey, startServer } from './harness.mjs';

const require = createRequire(import.meta.url);
// The package's bin (mcp-inspector): parses --cli and runs cli/build/index.js with `node`.
const inspectorBin = join(
  dirname(require.resolve('@modelcontextprotocol/inspector/package.json')),
  'cli/build/cli.js',
);

let server;
let key;

before(async () => {
  server = await startServer();
  key = await registerKey(server.base);
});

after(async () => {
  const result = await server?.stop();
  if (result) assert.equal(result.code, 0, `baton exited with ${JSON.stringify(result)}:\n${server.log()}`);
});

// Runs the inspector; resolves with its exit code, stdout and stderr (never rejects).
function inspector(args) {
  // The inspector starts its CLI with a bare `node`: let it find this one first.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  return new Promise((done) => {
    execFile(process.execPath, [inspectorBin, ...args], { env, timeout: 60000 }, (err, stdout, stderr) => {
      done({ code: err ? (err.code ?? 1) : 0, stdout, stderr, timedOut: err?.killed === true });
    });
  });
}

function parseOutput(run) {
  assert.equal(run.code, 0, `inspector exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  try {
    return JSON.parse(run.stdout);
  } catch {
    assert.fail(`inspector printed no JSON on stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

test('inspector --cli tools/list over http lists the task tools', async () => {
  const run = await inspector([
    '--cli', `${server.base}/mcp`, '--transport', 'http', '--method', 'tools/list',
    '--header', `Authorization: Bearer ${key}`,
  ]);
  const out = parseOutput(run);
  const names = out.tools.map((t) => t.name);
  for (const name of [
    'create_task', 'list_tasks', 'claim_task', 'get_task', 'claim_task_by_id', 'heartbeat',
    'complete_task', 'fail_task', 'cancel_task', 'requeue_task', 'list_keys', 'create_key',
    'revoke_key',
  ]) {
    assert.ok(names.includes(name), `${name} not in ${names}`);
    assert.match(run.stdout, new RegExp(`"name": "${name}"`));
  }
  for (const tool of out.tools) assert.equal(tool.inputSchema.type, 'object', tool.name);
});

test('inspector --cli tools/call create_task creates a task the HTTP API then reads', async () => {
  const run = await inspector([
    '--cli', `${server.base}/mcp`, '--transport', 'http',
    '--header', `Authorization: Bearer ${key}`,
    '--method', 'tools/call', '--tool-name', 'create_task',
    '--tool-arg', 'type=inspected', '--tool-arg', 'payload={"from":"inspector"}',
    '--tool-arg', 'priority=3',
  ]);
  const out = parseOutput(run);
  assert.notEqual(out.isError, true, run.stdout);
  const task = out.structuredContent.task;
  assert.match(task.id, /^tsk_/);
  assert.equal(task.status, 'pending');
  assert.equal(task.priority, 3);
  const seen = await http(server.base, 'GET', `/v1/tasks/${task.id}`, { key });
  assert.equal(seen.status, 200);
  assert.equal(seen.json.task.type, 'inspected');
  assert.deepEqual(seen.json.task.payload, { from: 'inspector' });
});

test('inspector --cli with a tool error prints the isError result with its agent_contract', async () => {
  const run = await inspector([
    '--cli', `${server.base}/mcp`, '--transport', 'http',
    '--header', `Authorization: Bearer ${key}`,
    '--method', 'tools/call', '--tool-name', 'get_task', '--tool-arg', 'task_id=tsk_missing',
  ]);
  const out = parseOutput(run);
  assert.equal(out.isError, true, run.stdout);
  assert.equal(out.structuredContent.error, 'task_not_found');
  assert.ok(out.structuredContent.agent_contract);
});

test('inspector --cli with a wrong key fails, naming the 401', async () => {
  const run = await inspector([
    '--cli', `${server.base}/mcp`, '--transport', 'http', '--method', 'tools/list',
    '--header', 'Authorization: Bearer orch_live_not_a_key',
  ]);
  assert.notEqual(run.code, 0, `inspector succeeded with a wrong key:\n${run.stdout}`);
  assert.equal(run.timedOut, false);
  assert.match(run.stdout + run.stderr, /invalid_api_key/);
});
