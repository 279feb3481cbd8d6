/** The shared certificate helper produces chains that real TLS (mTLS) accepts. */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeCa, makeLeaf } from '../helpers/certs.js';

describe('test/helpers/certs', () => {
  it.each([['ec-p256' as const], ['rsa-2048' as const]])('issues leaves that verify in an mTLS handshake (%s)', async (alg) => {
    const root = await makeCa({ trustDomain: 'prod.example.org', keyAlgorithm: alg });
    const ca = await makeCa({ parent: root, commonName: 'intermediate' });
    const server = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/a/sa/server'], dns: ['localhost'] });
    const client = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/a/sa/client'] });

    const srv = createServer({
      cert: server.fullChainPem, key: server.keyPem, ca: root.certPem, requestCert: true, rejectUnauthorized: true,
    }, (s: TLSSocket) => {
      s.end(s.getPeerCertificate().subjectaltname ?? 'none');
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      const sock = connect({
        host: '127.0.0.1', port: (srv.address() as AddressInfo).port, servername: 'localhost',
        ca: root.certPem, cert: client.fullChainPem, key: client.keyPem,
      });
      const chunks: Buffer[] = [];
      sock.on('data', (c: Buffer) => chunks.push(c));
      await once(sock, 'end');
      expect(sock.authorized).toBe(true);
      expect(Buffer.concat(chunks).toString()).toBe('URI:spiffe://prod.example.org/ns/a/sa/client');
      sock.destroy();
    } finally {
      srv.close();
    }
  });

  it('sets the requested validity window, CA flag and SANs', async () => {
    const ca = await makeCa();
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2026-01-02T00:00:00Z');
    const leaf = await makeLeaf(ca, { uris: ['spiffe://a/b', 'spiffe://a/c'], notBefore, notAfter });
    const x = new X509Certificate(leaf.certPem);
    expect(Date.parse(x.validFrom)).toBe(notBefore.getTime());
    expect(Date.parse(x.validTo)).toBe(notAfter.getTime());
    expect(x.subjectAltName).toBe('URI:spiffe://a/b, URI:spiffe://a/c');
    expect(x.ca).toBe(false);
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
  });
});
