/**
 * Credentials for the gRPC port. With --tls-cert/--tls-key the port serves TLS; adding
 * --tls-client-ca requires client certificates (mTLS). The files are watched through
 * grpc-js's own certificate providers, so rotated certificates (SPIRE rotates SVIDs
 * hourly) are picked up without a restart. The files are checked once at start so a bad
 * path or PEM is a configuration error, not a server that never handshakes.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/config.js';

export interface CredentialsHandle {
  readonly credentials: grpc.ServerCredentials;
  /**
   * Resolves once the providers have read the files for the first time. grpc-js loads
   * them asynchronously; a handshake before that is dropped, so the server waits for it
   * before it reports itself ready.
   */
  readonly ready: Promise<void>;
}

/** Bound on the first read of the certificate files. */
const FIRST_LOAD_TIMEOUT_MS = 5000;

function firstUpdate(register: (listener: (update: unknown) => void) => void, unregister: (listener: (update: unknown) => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, FIRST_LOAD_TIMEOUT_MS);
    timer.unref();
    function done(): void {
      clearTimeout(timer);
      unregister(listener);
      resolve();
    }
    function listener(update: unknown): void {
      if (update !== null) setImmediate(done);
    }
    register(listener);
  });
}

/** How often the certificate files are re-read. */
const CERT_REFRESH_MS = 1000;

function check(file: string, flag: string, parse: (text: string) => void): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `${flag} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  try {
    parse(text);
  } catch {
    return `${flag} ${file}: not a valid PEM`;
  }
  return null;
}

export function buildServerCredentials(config: Config): CredentialsHandle | null {
  if (config.tlsCert === null || config.tlsKey === null) return null;
  const errors = [
    check(config.tlsCert, '--tls-cert', (t) => void new X509Certificate(t)),
    check(config.tlsKey, '--tls-key', (t) => void createPrivateKey(t)),
    config.tlsClientCa === null ? null : check(config.tlsClientCa, '--tls-client-ca', (t) => void new X509Certificate(t)),
  ].filter((e): e is string => e !== null);
  if (errors.length > 0) throw new Error(errors.join('\n'));

  const identity = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: config.tlsCert,
    privateKeyFile: config.tlsKey,
    refreshIntervalMs: CERT_REFRESH_MS,
  });
  const ca =
    config.tlsClientCa === null
      ? null
      : new grpc.experimental.FileWatcherCertificateProvider({ caCertificateFile: config.tlsClientCa, refreshIntervalMs: CERT_REFRESH_MS });
  // grpc-js 1.14 names the first parameter caCertificateProvider in its typings but uses
  // it as the identity provider (the constructor takes identity first); the mTLS test
  // (test/integration/tls.test.ts) pins the behaviour.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    identity,
    ca as unknown as grpc.experimental.CertificateProvider,
    config.tlsClientCa !== null,
  );
  const ready = Promise.all([
    firstUpdate(
      (l) => identity.addIdentityCertificateListener(l),
      (l) => identity.removeIdentityCertificateListener(l),
    ),
    ca === null
      ? Promise.resolve()
      : firstUpdate(
          (l) => ca.addCaCertificateListener(l),
          (l) => ca.removeCaCertificateListener(l),
        ),
  ]).then(() => undefined);
  return {
    credentials,
    ready,
  };
}
