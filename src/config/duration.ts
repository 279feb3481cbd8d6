/** Go-style durations ("500ms", "5s", "1m30s", "2h") → milliseconds; null when malformed. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

export function parseDurationMs(text: string): number | null {
  if (!DURATION.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Number.isFinite(total) ? Math.round(total) : null;
}
