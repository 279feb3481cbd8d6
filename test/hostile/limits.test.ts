/**
 * The configured limits exist and hold: `--max-message-bytes` refuses larger messages (and
 * only those), `--max-concurrent-streams` is what the server advertises in its HTTP/2
 * SETTINGS and is enforced per connection, and the inputs that could make one request
 * expensive are answered with their documented reason.
 */
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../helpers/envoy-client.js';
import { REFUND, expectAnswer, startTarget, type Target } from './harness.js';

describe('--max-message-bytes 65536', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(['--max-message-bytes', '65536']);
  });
  afterAll(async () => t?.close());

  it('answers a 60 KiB message', async () => {
    expectAnswer(await t.client.check(checkRequest({ ...REFUND, headers: { 'x-pad': 'a'.repeat(60 * 1024) } })), 'ALLOWED');
  });

  it('refuses an 80 KiB message with RESOURCE_EXHAUSTED, then answers normally again', async () => {
    const err = await t.client.check(checkRequest({ ...REFUND, headers: { 'x-pad': 'a'.repeat(80 * 1024) } })).then(
      () => null,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expectAnswer(await t.client.check(checkRequest(REFUND)), 'ALLOWED');
  });
});

describe('--max-concurrent-streams 4', () => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(['--max-concurrent-streams', '4']);
  });
  afterAll(async () => t?.close());

  it('is advertised in the server HTTP/2 SETTINGS', async () => {
    const session = http2.connect(`http://${t.server.grpcAddress}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.maxConcurrentStreams).toBe(4);
    } finally {
      session.close();
    }
  });

  it('refuses streams over the limit when a client ignores the SETTINGS (raw HTTP/2)', async () => {
    // A hand-written HTTP/2 client: preface, then 12 request HEADERS without waiting for
    // the server's SETTINGS and without ever sending a body, so every stream stays open.
    // The server must refuse the excess (RST_STREAM REFUSED_STREAM, or GOAWAY) instead of
    // taking on unbounded work.
    const [host, port] = t.server.grpcAddress.split(':') as [string, string];
    const socket = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(0x4, 0, 0, Buffer.alloc(0))];
    const block = hpackLiterals([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/envoy.service.auth.v3.Authorization/Check'],
      [':authority', t.server.grpcAddress],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    const STREAMS = 12;
    for (let i = 0; i < STREAMS; i++) frames.push(frame(0x1, 0x4, 1 + 2 * i, block));
    socket.write(Buffer.concat(frames));

    const refused = new Set<number>();
    let goaway = false;
    let settingsMax: number | null = null;
    let buf = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 9) {
          const len = buf.readUIntBE(0, 3);
          if (buf.length < 9 + len) break;
          const type = buf[3]!;
          const flags = buf[4]!;
          const stream = buf.readUInt32BE(5) & 0x7fffffff;
          const payload = buf.subarray(9, 9 + len);
          buf = buf.subarray(9 + len);
          if (type === 0x4 && (flags & 0x1) === 0) {
            for (let o = 0; o + 6 <= payload.length; o += 6) if (payload.readUInt16BE(o) === 0x3) settingsMax = payload.readUInt32BE(o + 2);
          }
          if (type === 0x3 && payload.readUInt32BE(0) === 0x7) refused.add(stream);
          if (type === 0x7) goaway = true;
        }
        if (goaway || refused.size >= STREAMS - 4) done();
      });
      socket.once('close', done);
    });
    socket.destroy();
    expect(settingsMax).toBe(4);
    // Either every stream beyond the fourth was refused, or the connection was torn down.
    expect(goaway || refused.size === STREAMS - 4).toBe(true);
    if (!goaway) expect(Math.min(...refused)).toBeGreaterThan(1 + 2 * 3);
    // And the server still serves a normal client afterwards.
    expectAnswer(await t.client.check(checkRequest(REFUND)), 'ALLOWED');
  });

  it('serves 40 concurrent calls from a well-behaved client (queued by the client, none lost)', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => t.client.check(checkRequest(REFUND))));
    for (const r of results) expectAnswer(r, 'ALLOWED');
  });
});

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK "literal header field without indexing, new name", no Huffman; lengths < 127. */
function hpackLiterals(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value));
  }
  return Buffer.concat(parts);
}
