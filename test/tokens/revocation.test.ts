import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryRevocationStore } from '../../src/tokens/revocation-memory.js';
import { checkRedisUrl } from '../../src/config/redis-url.js';
import { createRedisRevocationStore, type RedisRevocationStore } from '../../src/tokens/revocation-redis.js';
import { RevocationNotSharedError } from '../../src/tokens/store.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

describe('memory store', () => {
  it('holds a revocation until exp + skew, then sweeps it', async () => {
    let t = 1_000_000;
    const store = createMemoryRevocationStore({ now: () => t });
    await store.revoke('a', t + 10_000);
    await store.revoke('b', t - 31_000); // already past exp + skew: nothing to remember
    expect(store.isRevoked('a')).toBe(true);
    expect(store.isRevoked('b')).toBe(false);
    expect(store.size()).toBe(1);
    t += 10_000 + 29_000;
    expect(store.size()).toBe(1);
    t += 2_000;
    expect(store.size()).toBe(0);
    expect(store.isRevoked('a')).toBe(false);
    expect(store.state()).toBe('memory');
    expect(store.isStale(t)).toBe(false);
    await store.close();
  });

  it('a second revoke of the same txn keeps the later expiry', async () => {
    let t = 0;
    const store = createMemoryRevocationStore({ now: () => t });
    await store.revoke('a', 100_000);
    await store.revoke('a', 10_000);
    t = 50_000;
    expect(store.size()).toBe(1);
    await store.close();
  });
});

describe.each([
  ['http://127.0.0.1:6379', /scheme/],
  ['not a url', /not a URL/],
])('checkRedisUrl(%s)', (url, problem) => {
  it('names the problem', () => expect(checkRedisUrl(url)).toMatch(problem));
});

describe('redis store on a real redis-server', () => {
  let redis: RedisServer;
  const open: RedisRevocationStore[] = [];
  const prefix = 'test:';

  function store(name: string, extra: { onState?: (s: 'up' | 'down') => void; onMessage?: (txn: string) => void } = {}) {
    const s = createRedisRevocationStore({
      url: redis.url,
      prefix,
      maxStalenessMs: 500,
      onStateChange: extra.onState,
      onMessage: extra.onMessage,
      logger: { info: () => undefined, warn: () => undefined },
    });
    open.push(s);
    void name;
    return s;
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    await redis.start(); // a test may have left it stopped
  });
  afterAll(async () => {
    await redis.dispose();
  });

  it('a revocation on one replica reaches the other within one second', async () => {
    const a = store('a');
    let seen: (txn: string) => void = () => undefined;
    const arrived = new Promise<string>((resolve) => (seen = resolve));
    const b = store('b', { onMessage: (txn) => seen(txn) });
    await Promise.all([a.whenUp(), b.whenUp()]);
    expect(b.isStale(Date.now())).toBe(false);
    const started = Date.now();
    await a.revoke('task-1', Date.now() + 60_000);
    expect(a.isRevoked('task-1')).toBe(true);
    expect(await arrived).toBe('task-1');
    expect(b.isRevoked('task-1')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(b.isRevoked('task-2')).toBe(false);
  });

  it('stores the key with the remaining TTL and a new replica loads it by SCAN', async () => {
    const a = store('a');
    await a.whenUp();
    await a.revoke('task-scan', Date.now() + 20_000);
    const raw = new Redis(redis.url);
    try {
      const pttl = await raw.pttl(`${prefix}revoked:task-scan`);
      // exp + 30 s skew = about 50 s from now.
      expect(pttl).toBeGreaterThan(45_000);
      expect(pttl).toBeLessThanOrEqual(50_000);
    } finally {
      raw.disconnect();
    }
    const late = store('late');
    expect(late.isRevoked('task-scan')).toBe(false);
    await late.whenUp();
    expect(late.isRevoked('task-scan')).toBe(true);
    expect(late.stats().resyncs).toBe(1);
  });

  it('Redis down: stale after the bound; back: resyncs without a new store', async () => {
    const states: string[] = [];
    let wentDown: () => void = () => undefined;
    const down = new Promise<void>((resolve) => (wentDown = resolve));
    const a = store('a');
    const b = store('b', {
      onState: (s) => {
        states.push(s);
        if (s === 'down') wentDown();
      },
    });
    await Promise.all([a.whenUp(), b.whenUp()]);
    await a.revoke('before-outage', Date.now() + 60_000);

    await redis.stop();
    await down;
    const t = Date.now();
    expect(b.state()).toBe('down');
    expect(b.isStale(t)).toBe(false);
    expect(b.isStale(t + 600)).toBe(true);
    // Held locally while the link is down; the caller learns it is not shared yet.
    await expect(a.revoke('during-outage', Date.now() + 60_000)).rejects.toBeInstanceOf(RevocationNotSharedError);
    expect(a.isRevoked('during-outage')).toBe(true);
    expect(b.isRevoked('during-outage')).toBe(false);
    expect(b.isRevoked('before-outage')).toBe(true);

    await redis.start();
    await Promise.all([a.whenUp(), b.whenUp()]);
    expect(states).toEqual(['up', 'down', 'up']);
    expect(b.isStale(Date.now() + 600)).toBe(false);
    // A's pending revocation was written on its resync; B has it by message or by its own SCAN.
    const deadline = Date.now() + 1000;
    while (!b.isRevoked('during-outage') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(b.isRevoked('during-outage')).toBe(true);
    expect(a.stats().pending).toBe(0);
    expect(b.stats().disconnects).toBe(1);
  });

  it('starts without Redis: down, stale after the bound, no unhandled error, closes cleanly', async () => {
    await redis.stop();
    const created = Date.now();
    const s = store('orphan');
    expect(s.state()).toBe('down');
    expect(s.isStale(created + 400)).toBe(false);
    expect(s.isStale(Date.now() + 600)).toBe(true);
    await expect(s.revoke('x', Date.now() + 1000)).rejects.toBeInstanceOf(RevocationNotSharedError);
    await redis.start();
    await s.whenUp();
    expect(s.isStale(Date.now() + 600)).toBe(false);
    expect(s.stats().pending).toBe(0);
  });

  it('records issued tasks for every replica, with their lifetime', async () => {
    const a = store('a');
    const b = store('b');
    await Promise.all([a.whenUp(), b.whenUp()]);
    const exp = Date.now() + 60_000;
    await a.recordIssued?.('task-owned', 'spiffe://prod.example.org/ns/a/sa/b', exp);
    expect(await b.issuedTo?.('task-owned')).toEqual({ sub: 'spiffe://prod.example.org/ns/a/sa/b', expiresAtMs: exp });
    expect(await b.issuedTo?.('task-unknown')).toBeNull();
    // Already past exp + skew: not recorded.
    await a.recordIssued?.('task-old', 'spiffe://prod.example.org/ns/a/sa/b', Date.now() - 31_000);
    expect(await b.issuedTo?.('task-old')).toBeNull();
    // Never rejects while Redis is down.
    await redis.stop();
    await expect(b.issuedTo?.('task-owned')).resolves.toBeNull();
    await expect(a.recordIssued?.('task-x', 'spiffe://prod.example.org/ns/a/sa/b', exp)).resolves.toBeUndefined();
  });

  it('ignores malformed messages on the channel', async () => {
    let received = 0;
    const b = store('b', { onMessage: () => received++ });
    await b.whenUp();
    const raw = new Redis(redis.url);
    try {
      await raw.publish(`${prefix}revocations`, 'not json');
      await raw.publish(`${prefix}revocations`, JSON.stringify({ txn: 'has space', ttlMs: 1000 }));
      await raw.publish(`${prefix}revocations`, JSON.stringify({ txn: 'ok-one', ttlMs: 1000 }));
    } finally {
      raw.disconnect();
    }
    const deadline = Date.now() + 1000;
    while (received === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe(1);
    expect(b.isRevoked('ok-one')).toBe(true);
    expect(b.isRevoked('has space')).toBe(false);
  });
});
