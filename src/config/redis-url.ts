/**
 * A Redis URL's problem, or null when usable: checked by the config loader (exit 2 at
 * start) and again by the revocation store that connects with it.
 */
export function checkRedisUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return 'scheme must be redis:// or rediss://';
  if (u.hostname === '') return 'host is missing';
  return null;
}
