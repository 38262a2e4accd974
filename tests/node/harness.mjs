// Shared by the node tests: starts the real binary on a free loopback port with its own data
// directory, registers an account, and stops the server (SIGTERM) when the test is done.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

// BATON_BIN from the environment (meson sets it), else the default build directory.
export function batonBin() {
  const bin = process.env.BATON_BIN || resolve(here, '../../build/baton');
  accessSync(bin, constants.X_OK);
  return bin;
}

// The admin key of every test server, for the admin operations (POST /v1/admin/backup).
export const ADMIN_KEY = 'node-test-admin-key-0123456789';

const CONFIG = `storage: {sync: none}
leases: {min_seconds: 1}
log: {level: info}
admin_key: ${ADMIN_KEY}
`;

// The server reads BATON_* as configuration: it gets none of ours (BATON_BIN among them).
function serverEnvironment() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  return env;
}

// `server`: more keys of the server section; `extra`: more sections of the config.
export async function startServer({ server = '', extra = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-node-'));
  const config = join(dir, 'baton.yaml');
  writeFileSync(config, `server: {shards: 2${server ? `, ${server}` : ''}}\n${CONFIG}${extra}`);
  const child = spawn(
    batonBin(),
    ['serve', '--config', config, '--listen', '127.0.0.1:0', '--data', join(dir, 'data')],
    { stdio: ['ignore', 'ignore', 'pipe'], env: serverEnvironment() },
  );
  // Never outlive the test process, whatever ends it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let log = '';
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const address = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`baton did not listen within 20 s:\n${log}`)), 20000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /"msg":"listening","detail":"(127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`baton exited (code ${code}, signal ${signal}) before listening:\n${log}`));
    });
  });
  const base = `http://${address}`;
  return {
    base,
    dir,
    pid: child.pid,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const result = await exited;
      clearTimeout(timer);
      process.removeListener('exit', reap);
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}

// One HTTP request; the answer's status, headers and parsed JSON body (null when empty).
// body is sent as JSON; raw is sent as it is (with the Content-Type of headers).
export async function http(base, method, path, { key, body, raw, headers = {} } = {}) {
  const h = {};
  if (key) h.Authorization = `Bearer ${key}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  Object.assign(h, headers);
  const res = await fetch(base + path, {
    method,
    headers: h,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path} answered ${res.status} with non-JSON: ${text}`);
    }
  }
  return { status: res.status, headers: res.headers, json, text };
}

export async function registerKey(base) {
  const res = await http(base, 'POST', '/v1/keys/register', { body: {} });
  if (res.status !== 201 || typeof res.json?.apiKey !== 'string') {
    throw new Error(`POST /v1/keys/register answered ${res.status}: ${res.text}`);
  }
  return res.json.apiKey;
}
