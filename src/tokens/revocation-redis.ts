/**
 * Revocations shared by all replicas through Redis (SPEC section 8). A revocation is a key
 * `mandate:revoked:<txn>` living as long as the token could still verify, plus a message on
 * `mandate:revocations` so the other replicas learn of it at once. Each replica keeps the
 * set in local memory, and the Check path reads only that memory.
 *
 * Staleness: a replica may miss messages while its link is down, so from the moment either
 * connection drops until both are back *and* the key set has been re-read, the view counts as
 * down; after `maxStalenessMs` of that, `isStale()` tells the decision to refuse tokens
 * (REVOCATION_UNAVAILABLE). Before the first sync the view is down too, counted from creation.
 *
 * Issued tasks are recorded too (`mandate:issued:<txn>` -> {sub, exp}, same lifetime), so a
 * Complete may reach any replica. These are read only by Complete, never by Check.
 *
 * Order matters on (re)connect: subscribe first, then SCAN. A revocation made between the two
 * arrives twice (message and key); one made before either is in the key set.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { CLOCK_SKEW_SECONDS, MAX_REVOCATION_KEEP_MS, TASK_ID } from './limits.js';
import { RevocationTable } from './revocation-memory.js';
import { RevocationNotSharedError, type RevocationLinkState, type RevocationStore } from './store.js';
import type { TokenLogger } from './types.js';
import { checkRedisUrl } from '../config/redis-url.js';

export interface RedisRevocationOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  /** Default 5000 (SPEC: --revocation-max-staleness). */
  readonly maxStalenessMs?: number;
  /** Key and channel prefix; default 'mandate:'. */
  readonly prefix?: string;
  readonly now?: () => number;
  readonly logger?: TokenLogger;
  /** Called on every change of link state, for the link-state metric. */
  readonly onStateChange?: (state: 'up' | 'down') => void;
  readonly sweepIntervalMs?: number;
  /** PING interval that detects a hung link; default a third of maxStalenessMs, 100 ms to 1 s. */
  readonly heartbeatMs?: number;
  /** Called for each revocation message received (own ones included). */
  readonly onMessage?: (txn: string) => void;
}

export interface RedisRevocationStats {
  readonly state: 'up' | 'down';
  /** Completed (re)syncs, the first one included. */
  readonly resyncs: number;
  /** Link losses seen. */
  readonly disconnects: number;
  /** Revocation messages received. */
  readonly messages: number;
  /** Revocations held locally, waiting to be written to Redis. */
  readonly pending: number;
  /** Entries in the local table. */
  readonly entries: number;
}

export interface RedisRevocationStore extends RevocationStore {
  stats(): RedisRevocationStats;
  /** Resolves when the link is up and synced (at once if it is now). */
  whenUp(): Promise<void>;
}

const RETRY_CAP_MS = 1000;
const SCAN_COUNT = 1000;

export function createRedisRevocationStore(opts: RedisRevocationOptions): RedisRevocationStore {
  const problem = checkRedisUrl(opts.url);
  if (problem !== null) throw new TypeError(`redis url: ${problem}`);
  const now = opts.now ?? Date.now;
  const maxStalenessMs = opts.maxStalenessMs ?? 5000;
  const prefix = opts.prefix ?? 'mandate:';
  const keyPrefix = `${prefix}revoked:`;
  const issuedPrefix = `${prefix}issued:`;
  const channel = `${prefix}revocations`;
  const logger = opts.logger;
  const skewMs = CLOCK_SKEW_SECONDS * 1000;

  const table = new RevocationTable();
  /** Revocations not yet written to Redis: txn -> keep-until ms. */
  const pending = new Map<string, number>();
  let state: 'up' | 'down' = 'down';
  let downSince: number | null = now();
  let generation = 0;
  let cmdReady = false;
  let subReady = false;
  let closed = false;
  let resyncs = 0;
  let disconnects = 0;
  let messages = 0;
  let errorLogged = false;
  let waiters: Array<() => void> = [];
  let retryTimer: NodeJS.Timeout | null = null;

  const clientOptions: RedisOptions = {
    // Commands fail at once while the link is down instead of queueing: revoke() then keeps
    // the revocation locally and reports it as not shared yet.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 1000,
    // Subscribing is done by hand on 'ready' so a resync follows every resubscription.
    autoResubscribe: false,
    // Reconnect forever; back off exponentially but never wait more than a second.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), RETRY_CAP_MS),
  };
  const cmd = new Redis(opts.url, { ...clientOptions, connectionName: 'mandate-revocations' });
  const sub = new Redis(opts.url, { ...clientOptions, connectionName: 'mandate-revocations-sub' });

  function onError(which: string) {
    return (err: Error) => {
      // ioredis emits an error per failed reconnect attempt: log once per outage.
      if (errorLogged) return;
      errorLogged = true;
      logger?.warn({ connection: which, error: err.message }, 'revocation store: Redis link error');
    };
  }
  cmd.on('error', onError('command'));
  sub.on('error', onError('subscriber'));

  function markDown(): void {
    generation++;
    if (state === 'up') {
      state = 'down';
      downSince = now();
      disconnects++;
      logger?.warn({}, 'revocation store: Redis link down');
      opts.onStateChange?.('down');
    } else if (downSince === null) {
      downSince = now();
    }
  }

  cmd.on('ready', () => {
    cmdReady = true;
    void resync();
  });
  cmd.on('close', () => {
    if (cmdReady) cmdReady = false;
    markDown();
  });
  sub.on('ready', () => {
    sub.subscribe(channel).then(
      () => {
        if (closed || sub.status !== 'ready') return;
        subReady = true;
        void resync();
      },
      (err: Error) => logger?.warn({ error: err.message }, 'revocation store: subscribe failed'),
    );
  });
  sub.on('close', () => {
    if (subReady) subReady = false;
    markDown();
  });
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    messages++;
    const parsed = parseMessage(message);
    if (parsed === null) return;
    table.add(parsed.txn, now() + parsed.ttlMs);
    opts.onMessage?.(parsed.txn);
  });

  async function resync(): Promise<void> {
    if (closed || !cmdReady || !subReady) return;
    const g = generation;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await cmd.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) {
          const pipe = cmd.pipeline();
          for (const k of keys) pipe.pttl(k);
          const ttls = (await pipe.exec()) ?? [];
          const t = now();
          keys.forEach((k, i) => {
            const entry = ttls[i];
            const ttl = entry !== undefined && entry[0] === null ? Number(entry[1]) : -2;
            if (ttl === -2) return; // expired between SCAN and PTTL
            const txn = k.slice(keyPrefix.length);
            table.add(txn, t + (ttl === -1 ? MAX_REVOCATION_KEEP_MS : ttl));
          });
        }
      } while (cursor !== '0');
      for (const [txn, until] of [...pending]) {
        await share(txn, until);
        pending.delete(txn);
      }
    } catch (err) {
      logger?.warn({ error: (err as Error).message }, 'revocation store: resync failed');
      // A broken link will reconnect and resync by itself; anything else retries here.
      if (!closed && g === generation && retryTimer === null) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          void resync();
        }, RETRY_CAP_MS);
        retryTimer.unref();
      }
      return;
    }
    if (closed || g !== generation || !cmdReady || !subReady) return;
    resyncs++;
    errorLogged = false;
    downSince = null;
    if (state !== 'up') {
      state = 'up';
      logger?.info({ entries: table.size }, 'revocation store: Redis link up, revocations synced');
      opts.onStateChange?.('up');
    }
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  }

  async function share(txn: string, untilMs: number): Promise<void> {
    const ttlMs = Math.ceil(untilMs - now());
    if (ttlMs <= 0) return;
    const results = await cmd
      .pipeline()
      .set(`${keyPrefix}${txn}`, '1', 'PX', ttlMs)
      .publish(channel, JSON.stringify({ txn, ttlMs }))
      .exec();
    const failed = (results ?? []).find((r) => r[0] !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('pipeline aborted');
  }

  const sweeper = setInterval(() => table.sweep(now()), opts.sweepIntervalMs ?? 30_000);
  sweeper.unref();

  // A frozen Redis or a black-holed link never closes the sockets, so 'close' alone would
  // never mark the link down. Both connections are pinged (the subscriber can PING in
  // subscribe mode); a ping that fails or times out (commandTimeout) marks the link down
  // from the moment it was sent, and the first good ping after that resyncs before the
  // link counts as up again.
  let pinging = false;
  async function heartbeat(): Promise<void> {
    if (closed || pinging || !cmdReady || !subReady) return;
    pinging = true;
    const sent = now();
    try {
      await Promise.all([cmd.ping(), sub.ping()]);
      if (state === 'down' && !closed) void resync();
    } catch (err) {
      if (state === 'up') {
        logger?.warn({ error: (err as Error).message }, 'revocation store: Redis does not answer');
        markDown();
        downSince = sent;
      }
    } finally {
      pinging = false;
    }
  }
  const heartbeatMs = opts.heartbeatMs ?? Math.max(100, Math.min(1000, Math.floor(maxStalenessMs / 3)));
  const pinger = setInterval(() => void heartbeat(), heartbeatMs);
  pinger.unref();

  return {
    isRevoked: (txn: string) => table.has(txn),
    isStale: (nowMs: number) => downSince !== null && nowMs - downSince > maxStalenessMs,
    async revoke(txn: string, expiresAtMs: number): Promise<void> {
      const until = expiresAtMs + skewMs;
      if (until <= now()) return;
      table.add(txn, until);
      if (!cmdReady) {
        pending.set(txn, Math.max(until, pending.get(txn) ?? 0));
        throw new RevocationNotSharedError('Redis link is down; revocation held locally');
      }
      try {
        await share(txn, until);
      } catch {
        pending.set(txn, Math.max(until, pending.get(txn) ?? 0));
        throw new RevocationNotSharedError('Redis write failed; revocation held locally');
      }
    },
    async recordIssued(txn: string, sub: string, expiresAtMs: number): Promise<void> {
      const ttlMs = Math.ceil(expiresAtMs + skewMs - now());
      if (ttlMs <= 0 || !cmdReady) return;
      try {
        await cmd.set(`${issuedPrefix}${txn}`, JSON.stringify({ sub, exp: expiresAtMs }), 'PX', ttlMs);
      } catch (err) {
        logger?.warn({ txn, error: (err as Error).message }, 'revocation store: could not record an issued task');
      }
    },
    async issuedTo(txn: string): Promise<{ sub: string; expiresAtMs: number } | null> {
      if (!cmdReady) return null;
      try {
        const raw = await cmd.get(`${issuedPrefix}${txn}`);
        if (raw === null) return null;
        const v = JSON.parse(raw) as { sub?: unknown; exp?: unknown };
        return typeof v.sub === 'string' && typeof v.exp === 'number' && Number.isFinite(v.exp) ? { sub: v.sub, expiresAtMs: v.exp } : null;
      } catch {
        return null;
      }
    },
    state: (): RevocationLinkState => state,
    stats: () => ({ state, resyncs, disconnects, messages, pending: pending.size, entries: table.size }),
    whenUp(): Promise<void> {
      if (state === 'up') return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      clearInterval(pinger);
      if (retryTimer !== null) clearTimeout(retryTimer);
      await Promise.all([quit(cmd), quit(sub)]);
    },
  };
}

async function quit(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') {
      await client.quit();
      return;
    }
  } catch {
    // fall through to a hard disconnect
  }
  client.disconnect();
}

function parseMessage(message: string): { txn: string; ttlMs: number } | null {
  try {
    const v = JSON.parse(message) as { txn?: unknown; ttlMs?: unknown };
    if (typeof v.txn !== 'string' || !TASK_ID.test(v.txn)) return null;
    if (typeof v.ttlMs !== 'number' || !Number.isFinite(v.ttlMs) || v.ttlMs <= 0) return null;
    return { txn: v.txn, ttlMs: Math.min(v.ttlMs, MAX_REVOCATION_KEEP_MS) };
  } catch {
    return null;
  }
}
