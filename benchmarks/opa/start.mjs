/** Placeholder until the OPA server is built: reports the peer as unavailable. */
export async function startOpa() {
  return { unavailable: 'not built yet' };
}
