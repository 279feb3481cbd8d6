#!/usr/bin/env node
/**
 * Redis killed, restarted and frozen under load (SPEC section 8). A mandate child process
 * shares revocations through a real redis-server (--redis-url) with a short staleness bound;
 * requests with a valid task token and requests without one flow at a fixed rate. Phases:
 *
 *   up       everything allowed; a revocation written to Redis (key + message, as another
 *            replica would) turns its token into TOKEN_REVOKED within a second
 *   killed   SIGKILL: token requests must turn REVOCATION_UNAVAILABLE once the link has been
 *            down longer than the bound; requests without a token stay ALLOWED
 *   restarted same port, same data: token requests recover without restarting mandate
 *   frozen   SIGSTOP (a hung Redis or a black-holed link: no RST, no FIN): the same bound
 *            should apply — the link is down even though no socket error says so
 *   thawed   SIGCONT
 *
 *   node scripts/reliability/redis.mjs --phase-s 10 --rate 400 --staleness-s 2
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { POLICIES, ROOT, WORKER, checkRequest, envoyClient, freePort, isMain, parseArgs, reasonOf, sleep, startLoad, startMandate } from './lib.mjs';

async function startRedis(dir, port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--protected-mode', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out.slice(-500)}`)));
  });
  proc.stdout.resume();
  proc.stderr.resume();
  const exited = new Promise((r) => proc.once('exit', r));
  return { proc, exited };
}

function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`redis-cli ${args.join(' ')}: ${code}`))));
  });
}

export async function run({ phaseS = 10, rate = 400, stalenessS = 2, kill = true, freeze = true, deadlineMs = 5000, log = console.log } = {}) {
  const { loadKeyRing } = await import(pathToFileURL(path.join(ROOT, 'dist/tokens/keys.js')).href);
  const { createTokenSigner } = await import(pathToFileURL(path.join(ROOT, 'dist/tokens/issue.js')).href);
  const dir = mkdtempSync(path.join(tmpdir(), 'mandate-redis-scenario-'));
  const keyFile = path.join(dir, 'key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ring = await loadKeyRing([keyFile]);
  const signer = createTokenSigner({ key: ring.ring.signing, issuer: 'mandate' });
  // Long enough for the whole run; the fixture's refund-processing has no maxTokenTtl (15 m).
  const live = (await signer.issue({ sub: WORKER, scope: 'refund-processing', ttlSeconds: 900, txn: 'task-live' }, Date.now())).token;
  const doomed = (await signer.issue({ sub: WORKER, scope: 'refund-processing', ttlSeconds: 900, txn: 'task-doomed' }, Date.now())).token;

  const port = await freePort();
  let redis = await startRedis(dir, port);
  const server = await startMandate({
    policies: POLICIES,
    args: ['--redis-url', `redis://127.0.0.1:${port}`, '--revocation-max-staleness', `${stalenessS}s`, '--token-key', keyFile, '--log-level', 'silent'],
  });
  const client = envoyClient(server.grpcAddress, { defaultDeadlineMs: deadlineMs });

  // Three streams interleaved: a live token, a token that gets revoked, no token.
  const KINDS = ['live', 'doomed', 'none'];
  const events = []; // {t, kind, reason}
  let rpcErrors = 0;
  const load = startLoad({
    client,
    rate,
    make: (i) => {
      const kind = KINDS[i % 3];
      const headers = kind === 'live' ? { 'txn-token': live } : kind === 'doomed' ? { 'txn-token': doomed } : {};
      return checkRequest({ path: `/v1/payments/${i}/refund`, headers });
    },
    onResult: (i, res) => {
      if (!res.ok) rpcErrors++;
      // Errors are kept as events too (RPC_<status>), so the phase tables show when they happened.
      events.push({ t: Date.now(), kind: KINDS[i % 3], reason: res.ok ? reasonOf(res.response) : `RPC_${grpc.status[res.error.code]}` });
    },
  });
  const marks = {};
  const mark = (name) => {
    marks[name] = Date.now();
    log(`${new Date().toISOString()} ${name}`);
  };
  const firstAfter = (from, kind, reason, until = Infinity) => {
    const e = events.find((x) => x.t >= from && x.t < until && x.kind === kind && x.reason === reason);
    return e === undefined ? null : e.t - from;
  };
  const countsBetween = (from, to) => {
    const out = {};
    for (const e of events) if (e.t >= from && e.t < to) out[`${e.kind}:${e.reason}`] = (out[`${e.kind}:${e.reason}`] ?? 0) + 1;
    return out;
  };

  mark('up');
  await sleep((phaseS * 1000) / 2);
  const ttl = 900_000;
  await redisCli(port, 'SET', 'mandate:revoked:task-doomed', '1', 'PX', String(ttl));
  // Measured from the message: the key alone is only read on a resync.
  mark('revoke');
  await redisCli(port, 'PUBLISH', 'mandate:revocations', JSON.stringify({ txn: 'task-doomed', ttlMs: ttl }));
  await sleep((phaseS * 1000) / 2);

  if (kill) {
    mark('killed');
    redis.proc.kill('SIGKILL');
    await redis.exited;
    await sleep(phaseS * 1000);

    mark('restarted');
    redis = await startRedis(dir, port);
    await sleep(phaseS * 1000);
  }

  if (freeze) {
    mark('frozen');
    redis.proc.kill('SIGSTOP');
    await sleep(phaseS * 1000);

    mark('thawed');
    redis.proc.kill('SIGCONT');
    await sleep(phaseS * 1000);
  }
  mark('end');

  const { sent, done } = await load.stop();
  client.close();
  const exit = await server.stop('SIGTERM');
  redis.proc.kill('SIGKILL');
  await redis.exited;
  rmSync(dir, { recursive: true, force: true });

  const f = {
    phaseS,
    rate,
    stalenessS,
    sent,
    answered: done,
    rpcErrors,
    revokeToTokenRevokedMs: firstAfter(marks.revoke, 'doomed', 'TOKEN_REVOKED'),
    killToRevocationUnavailableMs: kill ? firstAfter(marks.killed, 'live', 'REVOCATION_UNAVAILABLE', marks.restarted) : null,
    lastLiveAllowedAfterKillMs: (() => {
      if (!kill) return null;
      const allowed = events.filter((e) => e.t >= marks.killed && e.t < marks.restarted && e.kind === 'live' && e.reason === 'ALLOWED');
      return allowed.length === 0 ? null : allowed[allowed.length - 1].t - marks.killed;
    })(),
    restartToLiveAllowedMs: kill ? firstAfter(marks.restarted, 'live', 'ALLOWED', marks.frozen ?? marks.end) : null,
    freezeToRevocationUnavailableMs: freeze ? firstAfter(marks.frozen, 'live', 'REVOCATION_UNAVAILABLE', marks.thawed) : null,
    thawToLiveAllowedMs: freeze ? firstAfter(marks.thawed, 'live', 'ALLOWED') : null,
    phases: {
      up: countsBetween(marks.up, marks.killed ?? marks.frozen ?? marks.end),
      ...(kill ? { killed: countsBetween(marks.killed, marks.restarted), restarted: countsBetween(marks.restarted, marks.frozen ?? marks.end) } : {}),
      ...(freeze ? { frozen: countsBetween(marks.frozen, marks.thawed), thawed: countsBetween(marks.thawed, marks.end + 1) } : {}),
    },
    exit,
  };
  // Requests without a token never depend on Redis; the revoked token is never allowed again.
  const noTokenDenied = events.filter((e) => e.kind === 'none' && e.reason !== 'ALLOWED').length;
  const doomedAllowedAfterRevoke = events.filter((e) => e.kind === 'doomed' && e.t > marks.revoke + 1000 && e.reason === 'ALLOWED').length;
  const boundMs = stalenessS * 1000 + 2000;
  f.noTokenDenied = noTokenDenied;
  f.doomedAllowedLaterThan1sAfterRevoke = doomedAllowedAfterRevoke;
  f.checks = {
    noRpcErrors: rpcErrors === 0 && done === sent,
    revocationWithin1s: f.revokeToTokenRevokedMs !== null && f.revokeToTokenRevokedMs <= 1000,
    ...(kill
      ? {
          killFailsClosedWithinBound: f.killToRevocationUnavailableMs !== null && f.killToRevocationUnavailableMs <= boundMs,
          recoversAfterRestart: f.restartToLiveAllowedMs !== null,
        }
      : {}),
    ...(freeze
      ? {
          freezeFailsClosedWithinBound: f.freezeToRevocationUnavailableMs !== null && f.freezeToRevocationUnavailableMs <= boundMs,
          recoversAfterThaw: f.thawToLiveAllowedMs !== null,
        }
      : {}),
    noTokenUnaffected: noTokenDenied === 0,
    revokedStaysRevoked: doomedAllowedAfterRevoke === 0,
    exit0: exit.code === 0,
  };
  f.pass = Object.values(f.checks).every(Boolean);
  return f;
}

if (isMain(import.meta.url)) {
  const f = await run(parseArgs(process.argv.slice(2), { phaseS: 10, rate: 400, stalenessS: 2, deadlineMs: 5000 }));
  console.log(JSON.stringify(f, null, 2));
  process.exit(f.pass ? 0 : 1);
}


