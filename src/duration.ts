/**
 * Go-style durations, the syntax of Go's time.ParseDuration: an optional sign, then one or
 * more decimal numbers (`1`, `1.5`, `.5`, `5.`) each with a unit of ns, us (µs, μs), ms, s, m
 * or h, in any order and repeatable (`1h30m`, `1.5h`, `300ms`, `2h45m`, `1m1m`); `0` alone.
 * Counted in whole nanoseconds as Go does (a fraction below 1ns is dropped), so `0.7h` is
 * exactly 2,520 s; like Go, a value beyond int64 nanoseconds (about 2,562,047 h) is refused.
 */
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 MICRO SIGN
  'μs': 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const COMPONENT = /([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/y;
const MAX_NS = 2n ** 63n - 1n;

/** Nanoseconds (negative with a leading `-`), or null when `text` is not a Go duration. */
export function parseGoDurationNs(text: string): bigint | null {
  let i = 0;
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    i = 1;
  }
  if (text.slice(i) === '0') return 0n;
  if (i === text.length) return null;
  let total = 0n;
  while (i < text.length) {
    COMPONENT.lastIndex = i;
    const m = COMPONENT.exec(text);
    if (m === null) return null;
    const whole = m[1] as string;
    const fraction = m[2] ?? '';
    const unit = UNIT_NS[m[3] as string];
    // At least one digit, before or after the point; a unit Go knows.
    if (unit === undefined || (whole === '' && fraction === '')) return null;
    total += BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (total > MAX_NS) return null;
    i = COMPONENT.lastIndex;
  }
  return negative ? -total : total;
}

/** A Go duration for a flag or setting, in whole milliseconds, never negative; null otherwise. */
export function parseDurationMs(text: string): number | null {
  const ns = parseGoDurationNs(text);
  return ns === null || ns < 0n ? null : Math.round(Number(ns) / 1e6);
}
