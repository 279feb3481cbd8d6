/**
 * Reads the two extensions that decide whether a certificate may be an X.509-SVID leaf:
 * basicConstraints' cA flag and keyUsage's certificate-signing bits.
 *
 * Node's `X509Certificate.ca` is OpenSSL's X509_check_ca, which answers false for a
 * certificate that says cA=TRUE but lacks keyCertSign in its key usage; the SPIFFE X.509-SVID
 * standard forbids cA=TRUE on a leaf regardless, so the flag is read from the DER itself.
 * Node exposes no extension API on Node 20, hence this small, bounds-checked DER walk.
 */

export interface LeafConstraints {
  /** basicConstraints is present with cA = TRUE. */
  readonly ca: boolean;
  /** keyUsage holds keyCertSign or cRLSign. */
  readonly signsCertificates: boolean;
}

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
}

function readTlv(buf: Uint8Array, off: number, limit: number): Tlv | null {
  if (off + 2 > limit) return null;
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > limit) return null;
  return { tag, start: p, end: p + len };
}

const SEQUENCE = 0x30;
const BOOLEAN = 0x01;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const OID = 0x06;
const EXTENSIONS = 0xa3; // [3] EXPLICIT in TBSCertificate

// 2.5.29.19 and 2.5.29.15, DER-encoded OID contents.
const OID_BASIC_CONSTRAINTS = [0x55, 0x1d, 0x13];
const OID_KEY_USAGE = [0x55, 0x1d, 0x0f];

function oidIs(buf: Uint8Array, t: Tlv, oid: readonly number[]): boolean {
  if (t.tag !== OID || t.end - t.start !== oid.length) return false;
  for (let i = 0; i < oid.length; i++) if (buf[t.start + i] !== oid[i]) return false;
  return true;
}

/** The leaf constraints of a DER certificate, or null when its structure does not read. */
export function leafConstraints(der: Uint8Array): LeafConstraints | null {
  const cert = readTlv(der, 0, der.length);
  if (cert === null || cert.tag !== SEQUENCE) return null;
  const tbs = readTlv(der, cert.start, cert.end);
  if (tbs === null || tbs.tag !== SEQUENCE) return null;
  let ca = false;
  let signsCertificates = false;
  for (let off = tbs.start; off < tbs.end; ) {
    const field = readTlv(der, off, tbs.end);
    if (field === null) return null;
    off = field.end;
    if (field.tag !== EXTENSIONS) continue;
    const list = readTlv(der, field.start, field.end);
    if (list === null || list.tag !== SEQUENCE) return null;
    for (let e = list.start; e < list.end; ) {
      const ext = readTlv(der, e, list.end);
      if (ext === null || ext.tag !== SEQUENCE) return null;
      e = ext.end;
      const oid = readTlv(der, ext.start, ext.end);
      if (oid === null) return null;
      let next = readTlv(der, oid.end, ext.end);
      if (next !== null && next.tag === BOOLEAN) next = readTlv(der, next.end, ext.end); // critical
      if (next === null || next.tag !== OCTET_STRING) return null;
      if (oidIs(der, oid, OID_BASIC_CONSTRAINTS)) {
        const bc = readTlv(der, next.start, next.end);
        if (bc === null || bc.tag !== SEQUENCE) return null;
        if (bc.end > bc.start) {
          const first = readTlv(der, bc.start, bc.end);
          if (first === null) return null;
          if (first.tag === BOOLEAN && first.end > first.start && der[first.start] !== 0) ca = true;
        }
      } else if (oidIs(der, oid, OID_KEY_USAGE)) {
        const ku = readTlv(der, next.start, next.end);
        if (ku === null || ku.tag !== BIT_STRING) return null;
        // First content byte counts unused bits; bit 5 (keyCertSign) is 0x04 and bit 6
        // (cRLSign) is 0x02 of the first data byte.
        if (ku.end - ku.start >= 2 && (der[ku.start + 1]! & 0x06) !== 0) signsCertificates = true;
      }
    }
  }
  return { ca, signsCertificates };
}
