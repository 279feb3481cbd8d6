/**
 * A tiny protobuf wire writer for tests: builds frames field by field, so a test can put
 * fields in any order, repeat them, give them the wrong wire type or add unknown ones —
 * things proto-loader's encoder never produces.
 */

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v &= (1n << 64n) - 1n; // negative int32/int64: ten bytes, as protoc writes them
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

export function tag(field: number, wire: number): Buffer {
  return varint(BigInt(field) * 8n + BigInt(wire));
}

export function msg(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

/** Length-delimited: a string, bytes or a sub-message. */
export function len(field: number, payload: Buffer | string | Uint8Array): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return msg(tag(field, 2), varint(p.length), p);
}

export function num(field: number, value: number | bigint): Buffer {
  return msg(tag(field, 0), varint(value));
}

export function fixed64(field: number, bytes: Uint8Array = new Uint8Array(8)): Buffer {
  return msg(tag(field, 1), Buffer.from(bytes.subarray(0, 8)));
}

export function fixed32(field: number, bytes: Uint8Array = new Uint8Array(4)): Buffer {
  return msg(tag(field, 5), Buffer.from(bytes.subarray(0, 4)));
}

export function group(field: number, inner: Buffer): Buffer {
  return msg(tag(field, 3), inner, tag(field, 4));
}

/** A map<string, string> entry (key 1, value 2), either side omitted when undefined. */
export function mapEntry(field: number, key: string | Uint8Array | undefined, value: string | Uint8Array | undefined): Buffer {
  return len(field, msg(key === undefined ? Buffer.alloc(0) : len(1, key), value === undefined ? Buffer.alloc(0) : len(2, value)));
}

/** Deterministic shuffle (mulberry32), so a fast-check seed reproduces the order. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
