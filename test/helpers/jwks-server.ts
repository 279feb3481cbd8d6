/**
 * A loopback HTTP server publishing a JWKS (or a SPIFFE bundle) for tests: counts requests,
 * lets the test swap the document, answer errors, or delay, at any time.
 *
 *   const srv = await startJwksServer({ jwks: { keys: [jwk] } });
 *   srv.url                       // http://127.0.0.1:<port>/jwks.json
 *   srv.setJwks({ keys: [jwk2] }) // rotation
 *   srv.requests                  // how many times the document was fetched
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksServerOptions {
  readonly jwks?: unknown;
  /** Path the document is served at; default /jwks.json. Other paths answer 404. */
  readonly path?: string;
}

export interface JwksServer {
  readonly url: string;
  readonly origin: string;
  /** Requests for the document path so far. */
  readonly requests: number;
  setJwks(doc: unknown): void;
  /** Answer with this HTTP status (and no document) until set back to 200. */
  setStatus(status: number): void;
  /** Delay each answer by this many ms (to test that concurrent loads are joined). */
  setDelayMs(ms: number): void;
  /** Serve this raw body instead of JSON.stringify(doc), e.g. to send invalid JSON. */
  setRawBody(body: string | null): void;
  /** Resolves once `requests` reaches n, or rejects after timeoutMs. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksServer(opts: JwksServerOptions = {}): Promise<JwksServer> {
  const path = opts.path ?? '/jwks.json';
  let doc: unknown = opts.jwks ?? { keys: [] };
  let status = 200;
  let delayMs = 0;
  let raw: string | null = null;
  let requests = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    requests++;
    for (const w of waiters.filter((x) => requests >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const answer = (): void => {
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end('error');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(raw ?? JSON.stringify(doc));
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${path}`,
    origin,
    get requests() {
      return requests;
    },
    setJwks(d: unknown) {
      doc = d;
      raw = null;
    },
    setStatus(s: number) {
      status = s;
    },
    setDelayMs(ms: number) {
      delayMs = ms;
    },
    setRawBody(body: string | null) {
      raw = body;
    },
    waitForRequests(n: number, timeoutMs = 5_000) {
      if (requests >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`JWKS server saw ${requests} requests, waited for ${n}`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
