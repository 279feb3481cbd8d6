/**
 * Hot reload under a continuous stream of checks: rename-and-replace edits, a Kubernetes
 * ConfigMap `..data` symlink swap and a broken file. No check may fail, and every decision
 * must be the one its reported policy revision gives.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequest, envoyClient, responseHeaders } from '../helpers/envoy-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const SUBJECT = 'spiffe://prod.example.org/ns/r/sa/reloader';

function policy(allowedPath: string): string {
  return `apiVersion: mandate/v1
kind: Mandate
metadata: {name: reloader}
spec:
  subject: ${SUBJECT}
  owner: team-r
  purpose: Exercise reloads
  functions:
    - name: f
      actions:
        - target: a.internal
          methods: [GET]
          paths: ["${allowedPath}"]
`;
}

const request = checkRequest({ principal: SUBJECT, host: 'a.internal', method: 'GET', path: '/x', function: 'f' });

interface Seen {
  id: string;
  allowed: boolean;
}

/** Sends checks back to back from `workers` loops until stop() is called. */
function stream(address: string, workers = 4): { stop: () => Promise<{ seen: Seen[]; failures: unknown[] }> } {
  const client = envoyClient(address);
  const seen: Seen[] = [];
  const failures: unknown[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await client.check(request);
        seen.push({ id: responseHeaders(r)['x-mandate-decision-id'] as string, allowed: r.status.code === 0 });
      } catch (err) {
        failures.push(err);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      client.close();
      return { seen, failures };
    },
  };
}

function revisionsById(logFile: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as { decision_id: string; policy_revision: string };
    out.set(e.decision_id, e.policy_revision);
  }
  return out;
}

let server: TestServer | null = null;
afterEach(async () => {
  await server?.drain(2000);
  server = null;
});

async function waitRevisionChange(s: TestServer, from: string | null): Promise<string> {
  return waitFor(() => {
    const r = s.policyRevision();
    return r !== from ? r : null;
  }, 'a new policy revision', 4000);
}

describe('hot reload', () => {
  it('swaps edited files under load without a failed or inconsistent check', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-reload-'));
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, policy('/x'));
    const logFile = path.join(dir, 'decisions.log');
    server = await startTestServer(['--policies', dir, '--log-file', logFile, '--log-level', 'info']);
    const allows = new Map<string, boolean>([[server.policyRevision() as string, true]]);

    const s = stream(server.grpcAddress);
    let rev = server.policyRevision();
    for (let i = 0; i < 4; i++) {
      const allowX = i % 2 === 1;
      // An editor's save: write a temp file, rename it over the old one.
      writeFileSync(path.join(dir, '.policy.yaml.swp'), policy(allowX ? '/x' : '/y'));
      renameSync(path.join(dir, '.policy.yaml.swp'), file);
      rev = await waitRevisionChange(server, rev);
      allows.set(rev, allowX);
    }
    const { seen, failures } = await s.stop();
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(20);

    const revs = await waitFor(() => {
      const m = revisionsById(logFile);
      return seen.every((x) => m.has(x.id)) ? m : null;
    }, 'every decision in the log');
    for (const x of seen) {
      const r = revs.get(x.id) as string;
      expect(allows.has(r), `revision ${r} was one we installed`).toBe(true);
      expect(x.allowed, `decision ${x.id} under ${r}`).toBe(allows.get(r));
    }
  });

  it('follows a Kubernetes ConfigMap ..data symlink swap and keeps the last good set on errors', async () => {
    const mount = mkdtempSync(path.join(tmpdir(), 'mandate-cm-'));
    const version = (n: number, text: string): string => {
      const d = path.join(mount, `..2026_12_04_00_00_0${n}`);
      mkdirSync(d);
      writeFileSync(path.join(d, 'policy.yaml'), text);
      return path.basename(d);
    };
    const v1 = version(1, policy('/x'));
    symlinkSync(v1, path.join(mount, '..data'));
    symlinkSync('..data/policy.yaml', path.join(mount, 'policy.yaml'));
    const swap = (to: string, old: string): void => {
      symlinkSync(to, path.join(mount, '..data_tmp'));
      renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
      rmSync(path.join(mount, old), { recursive: true });
    };

    server = await startTestServer(['--policies', mount]);
    const client = envoyClient(server.grpcAddress);
    try {
      const r1 = server.policyRevision();
      expect((await client.check(request)).status.code).toBe(0);

      const v2 = version(2, policy('/y'));
      swap(v2, v1);
      await waitRevisionChange(server, r1);
      expect(responseHeaders(await client.check(request))['x-mandate-reason']).toBe('ACTION_NOT_PERMITTED');

      // A broken set is rejected; the last good one keeps serving and the error is counted.
      const r2 = server.policyRevision();
      const v3 = version(3, 'apiVersion: mandate/v1\nkind: Mandate\nmetadata: {name: BAD}\n');
      swap(v3, v2);
      const metrics = await waitFor(async () => {
        const body = await (await fetch(`${server?.httpBase}/metrics`)).text();
        return /mandate_policy_reloads_total\{result="error"\} [1-9]/.test(body) ? body : null;
      }, 'the rejected reload to be counted');
      expect(metrics).toContain(`mandate_policy_info{revision="${r2}"} 1`);
      expect(server.policyRevision()).toBe(r2);
      expect(responseHeaders(await client.check(request))['x-mandate-reason']).toBe('ACTION_NOT_PERMITTED');
    } finally {
      client.close();
    }
  });
});
