/**
 * The values of a list flag written `--logs a.jsonl b.jsonl.gz`: every following argument
 * up to the next `--flag`, appended to `into`. Returns the index of the last argument
 * consumed, for the caller's loop to continue from.
 */
export function takeListValues(args: readonly string[], i: number, into: string[]): number {
  while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) into.push(args[++i]!);
  return i;
}
