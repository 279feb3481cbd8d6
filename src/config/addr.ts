/** HOST:PORT addresses as the options give them (checked by config/load.ts). */

/** The host and port text of HOST:PORT; an IPv6 host loses its brackets (`[::1]:80` → `::1`, `80`). */
export function splitHostPort(addr: string): { readonly host: string; readonly port: string } {
  const i = addr.lastIndexOf(':');
  return {
    host: addr.slice(0, Math.max(0, i)).replace(/^\[|\]$/g, ''),
    port: i < 0 ? '' : addr.slice(i + 1),
  };
}
