#!/usr/bin/env node
/**
 * Helper process of sigterm.mjs: the "slow reader". Connects to ADDRESS, warms up, fires N
 * Checks on one channel, prints "sent", then prints one JSON line with each call's outcome
 * once all have settled. The parent SIGSTOPs this process right after "sent", so the
 * answers pile up on the server side behind HTTP/2 flow control, as they would behind a busy
 * Envoy, while mandate drains.
 */
import { checkRequest, envoyClient, headersOf, sleep } from './lib.mjs';

const [address, n] = process.argv.slice(2);
const client = envoyClient(address, { defaultDeadlineMs: 60_000 });
// The warm-up is answered before the signal; it is reported like the others so the
// parent counts its decision as delivered.
const warm = await client.check(checkRequest({ requestId: 'slow-warm-up' }));
const calls = [];
for (let i = 0; i < Number(n); i++) calls.push(client.check(checkRequest({ requestId: `slow-${i}`, path: `/v1/payments/slow-${i}/refund` })));
// Let grpc-js write the requests out before announcing them.
await sleep(100);
process.stdout.write('sent\n');
const results = [warm, ...(await Promise.all(calls))];
process.stdout.write(
  JSON.stringify(results.map((r, i) => ({ id: i === 0 ? 'slow-warm-up' : `slow-${i - 1}`, ok: r.ok, code: r.ok ? 0 : r.error.code, decisionId: r.ok ? headersOf(r.response)['x-mandate-decision-id'] : null }))) + '\n',
);
client.close();
