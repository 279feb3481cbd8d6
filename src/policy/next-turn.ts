/**
 * Resolves after the event loop has had a turn (I/O callbacks included): long synchronous
 * work off the request path (parsing, compiling a large policy set) awaits it between
 * chunks so checks keep being answered meanwhile.
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
