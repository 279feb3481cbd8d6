/**
 * One copy of each string and string list of a loaded policy set. A large estate repeats
 * the same targets, methods, paths, owners and enum values thousands of times, and a
 * parser's strings are often slices of the whole file text, which would keep every file's
 * text alive for as long as the policy is loaded. An Interner lives for one load: it hands
 * back one flat copy per distinct value, so the loaded set holds each value once and no
 * file text (issue 9: resident memory with 100,000 mandates).
 */

/** V8 makes a slice (a view on its parent) only for results of 13 or more characters. */
const SLICE_MIN_LENGTH = 13;
const SURROGATE = /[\ud800-\udfff]/;

export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  /** The one copy of `s`: equal to it, and never a view on a larger string. */
  str(s: string): string {
    let v = this.strings.get(s);
    if (v === undefined) {
      // A UTF-8 round trip makes a flat copy; a lone surrogate (a YAML "\ud800" escape) would
      // not survive it, so strings with any surrogate (rare in policy) are kept as they are.
      v = s.length < SLICE_MIN_LENGTH || SURROGATE.test(s) ? s : Buffer.from(s, 'utf8').toString('utf8');
      this.strings.set(v, v);
    }
    return v;
  }

  /** The one frozen, exact-size copy of a list of strings equal to `items`. */
  list(items: readonly string[]): readonly string[] {
    // NUL separates: no policy string that reaches a list can contain one unnoticed, and
    // a false match would still need equal lengths and contents, checked below.
    const key = items.join('\0');
    const hit = this.lists.get(key);
    if (hit !== undefined && hit.length === items.length && hit.every((v, i) => v === items[i])) return hit;
    const copy = Object.freeze(items.map((s) => this.str(s)));
    if (hit === undefined) this.lists.set(key, copy);
    return copy;
  }
}
