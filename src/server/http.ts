/**
 * The HTTP side: /healthz (live), /readyz (policy loaded and not draining), /metrics, and
 * /.well-known/jwks.json. Everything else is 404; only GET and HEAD are served.
 */
import http from 'node:http';
import { probeAnswer, type ProbeState } from './health.js';
import { splitHostPort } from '../config/addr.js';

export interface HttpDeps {
  /** What /healthz and /readyz answer from. */
  readonly probe: () => ProbeState;
  readonly metrics: () => Promise<{ contentType: string; body: string }>;
  readonly jwks: () => unknown;
  readonly onError: (err: unknown) => void;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function createHttpServer(deps: HttpDeps): http.Server {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] as string;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    const probe = probeAnswer(url, deps.probe());
    if (probe !== null) {
      send(res, probe.status, probe.contentType, probe.body);
      return;
    }
    switch (url) {
      case '/metrics':
        deps.metrics().then(
          (m) => send(res, 200, m.contentType, m.body),
          (err: unknown) => {
            deps.onError(err);
            send(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
          },
        );
        return;
      case '/.well-known/jwks.json':
        send(res, 200, 'application/jwk-set+json', JSON.stringify(deps.jwks()));
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

export function listenHttp(server: http.Server, addr: string): Promise<number> {
  const { host, port: portText } = splitHostPort(addr);
  const port = Number(portText);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}
