/**
 * Test certificates: a CA and X.509-SVID-shaped leaves, generated in-process with
 * @peculiar/x509 on Node's WebCrypto. Used by identity tests and by any test that needs
 * mTLS (grpc-js accepts the PEM strings as they are).
 *
 *   const ca = await makeCa({ trustDomain: 'prod.example.org' });
 *   const leaf = await makeLeaf(ca, { uris: ['spiffe://prod.example.org/ns/a/sa/b'] });
 *   // leaf.certPem, leaf.keyPem, ca.certPem
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const KeyUsage = x509.KeyUsageFlags;

export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export interface CaOptions {
  /** Subject CN; default 'mandate test CA'. */
  readonly commonName?: string;
  /** Adds the URI SAN spiffe://<trustDomain> as SPIFFE CAs carry. */
  readonly trustDomain?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Sign this CA with another one (an intermediate); default self-signed root. */
  readonly parent?: TestCa;
}

export interface TestCa {
  readonly certPem: string;
  readonly keyPem: string;
  readonly name: string;
  /** PEM of this CA followed by its parents' (for chain files). */
  readonly chainPem: string;
  readonly keys: CryptoKeyPair;
  readonly algorithm: KeyAlgorithm;
}

export interface LeafOptions {
  /** URI SANs, in order; zero, one or several (SVIDs have exactly one). */
  readonly uris?: readonly string[];
  readonly dns?: readonly string[];
  /** Subject CN; default 'mandate test leaf'. */
  readonly commonName?: string;
  /** Mark the leaf as a CA (basicConstraints cA=true); default false. */
  readonly ca?: boolean;
  /** Leave the basicConstraints extension out entirely; default false. */
  readonly omitBasicConstraints?: boolean;
  /** Key usage flags (bitwise OR of KeyUsage); default digitalSignature, critical. */
  readonly keyUsage?: number;
  /** Extended key usages; default serverAuth and clientAuth. */
  readonly extendedKeyUsage?: readonly string[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly keyAlgorithm?: KeyAlgorithm;
}

export interface TestLeaf {
  readonly certPem: string;
  readonly keyPem: string;
  /** Leaf followed by the CA chain. */
  readonly fullChainPem: string;
}

const HOUR = 3_600_000;

function algorithmParams(alg: KeyAlgorithm): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return alg === 'rsa-2048'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

function signingAlgorithm(alg: KeyAlgorithm): webcrypto.EcdsaParams {
  // RSASSA-PKCS1-v1_5 takes the same {name, hash} shape as ECDSA.
  return alg === 'rsa-2048' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', hash: 'SHA-256' };
}

async function generateKeys(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithmParams(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`;
}

function pemOf(cert: x509.X509Certificate): string {
  return cert.toString('pem').replace(/\r\n/g, '\n') + '\n';
}

export async function makeCa(opts: CaOptions = {}): Promise<TestCa> {
  const algorithm = opts.keyAlgorithm ?? 'ec-p256';
  const keys = await generateKeys(algorithm);
  const name = `CN=${opts.commonName ?? 'mandate test CA'}`;
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (opts.trustDomain !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${opts.trustDomain}` }]));
  }
  const common = {
    serialNumber: randomSerial(),
    notBefore: opts.notBefore ?? new Date(now - HOUR),
    notAfter: opts.notAfter ?? new Date(now + 24 * HOUR),
    extensions,
  };
  const cert =
    opts.parent === undefined
      ? await x509.X509CertificateGenerator.createSelfSigned({
          ...common,
          name,
          keys,
          signingAlgorithm: signingAlgorithm(algorithm),
        })
      : await x509.X509CertificateGenerator.create({
          ...common,
          subject: name,
          issuer: opts.parent.name,
          publicKey: keys.publicKey,
          signingKey: opts.parent.keys.privateKey,
          signingAlgorithm: signingAlgorithm(opts.parent.algorithm),
        });
  const certPem = pemOf(cert);
  return {
    certPem,
    keyPem: await privateKeyPem(keys.privateKey),
    name,
    chainPem: certPem + (opts.parent?.chainPem ?? ''),
    keys,
    algorithm,
  };
}

export async function makeLeaf(ca: TestCa, opts: LeafOptions = {}): Promise<TestLeaf> {
  const algorithm = opts.keyAlgorithm ?? 'ec-p256';
  const keys = await generateKeys(algorithm);
  const now = Date.now();
  const extensions: x509.Extension[] = [];
  if (opts.omitBasicConstraints !== true) {
    extensions.push(new x509.BasicConstraintsExtension(opts.ca === true, undefined, true));
  }
  extensions.push(new x509.KeyUsagesExtension(opts.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true));
  const eku = opts.extendedKeyUsage ?? ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'];
  if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension([...eku]));
  const names: x509.JsonGeneralName[] = [];
  for (const u of opts.uris ?? []) names.push({ type: 'url', value: u });
  for (const d of opts.dns ?? []) names.push({ type: 'dns', value: d });
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${opts.commonName ?? 'mandate test leaf'}`,
    issuer: ca.name,
    notBefore: opts.notBefore ?? new Date(now - HOUR),
    notAfter: opts.notAfter ?? new Date(now + HOUR),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.algorithm),
    extensions,
  });
  const certPem = pemOf(cert);
  return { certPem, keyPem: await privateKeyPem(keys.privateKey), fullChainPem: certPem + ca.chainPem };
}

/**
 * The form Envoy puts in attributes.source.certificate: the PEM with exactly `\n`, space,
 * `+`, `/` and `=` percent-encoded (ENVOY-NOTES.md).
 */
export function envoyEncodePem(pem: string): string {
  return pem
    .replace(/\n/g, '%0A')
    .replace(/ /g, '%20')
    .replace(/\+/g, '%2B')
    .replace(/\//g, '%2F')
    .replace(/=/g, '%3D');
}

function randomSerial(): string {
  // Positive 16-byte serial: clear the top bit.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f | 0x01;
  return Buffer.from(b).toString('hex');
}
