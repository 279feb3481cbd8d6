/** Scalar value syntaxes of the policy language: durations and review dates. */
import { parseGoDurationNs } from '../duration.js';

/** The longest maxTokenTtl a function may declare (SPEC section 2: at most 1h). */
export const MAX_TOKEN_TTL_SECONDS = 3600;

/** A business function name (SPEC section 2); task-token scopes follow the same rule. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export type Parsed<T> = { readonly value: T; readonly error: null } | { readonly value: null; readonly error: string };

const NS_PER_S = 1_000_000_000n;

/**
 * A task token's lifetime: a Go-style duration (src/duration.ts: `90s`, `5m`, `1h30m`,
 * `1.5m`, `90000ms`) that comes to a whole number of seconds, more than zero (JWT times are
 * whole seconds; a zero TTL is a mistake, not a way to disable tokens).
 */
export function parseDuration(text: string): Parsed<number> {
  const bad = (why: string): Parsed<number> => ({
    value: null,
    error: `"${text}" ${why} (write e.g. 90s, 5m, 1h or 1h30m)`,
  });
  const ns = parseGoDurationNs(text);
  if (ns === null) return bad('is not a duration: Go syntax, numbers with units ns, us, ms, s, m or h');
  if (ns <= 0n) return bad('is not a usable duration: it must be longer than zero');
  if (ns % NS_PER_S !== 0n) return bad('is not a usable duration: a token lifetime is a whole number of seconds');
  return { value: Number(ns / NS_PER_S), error: null };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** Date.UTC() without its mapping of years 0-99 onto 1900-1999. */
function utc(year: number, month: number, day: number, h = 0, m = 0, s = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, m, s, ms);
  return d.getTime();
}

function daysIn(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * An ISO-8601 calendar date `YYYY-MM-DD` (00:00:00Z that day) or an ISO-8601 extended
 * date-time with an explicit offset: seconds and fraction optional, `Z` or `±hh:mm` /
 * `±hhmm`, `T`/`Z` in either case as RFC 3339 allows (`2027-03-01T12:00:00+02:00`,
 * `2027-03-01T12:00Z`). A date-time without offset is refused because its instant would
 * depend on the server's time zone.
 */
export function parseReviewBy(text: string): Parsed<number> {
  const bad = (why: string): Parsed<number> => ({
    value: null,
    error: `"${text}" is not a date: ${why}`,
  });
  const d = DATE_RE.exec(text);
  const t = d === null ? DATE_TIME_RE.exec(text) : null;
  const m = d ?? t;
  if (m === null) {
    return bad('write YYYY-MM-DD or a date-time with an offset, e.g. 2027-03-01T12:00:00Z');
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) return bad('month out of range');
  if (day < 1 || day > daysIn(year, month)) return bad('day out of range');
  if (t === null) return { value: utc(year, month, day), error: null };
  const hour = Number(t[4]);
  const minute = Number(t[5]);
  const second = t[6] === undefined ? 0 : Number(t[6]);
  if (hour > 23 || minute > 59 || second > 59) return bad('time out of range');
  const ms = t[7] === undefined ? 0 : Math.floor(Number(`0${t[7]}`) * 1000);
  let offsetMinutes = 0;
  const zone = t[8]!;
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(-2));
    if (oh > 23 || om > 59) return bad('offset out of range');
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return { value: utc(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000, error: null };
}
