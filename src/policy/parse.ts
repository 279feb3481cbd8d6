/**
 * Policy text → YAML documents as yaml-tree nodes, with positions. JSON files take the same
 * path (JSON is YAML 1.2 flow syntax), so they get the same positions and diagnostics.
 * Syntax errors become YAML_SYNTAX diagnostics; semantic checks are validate.ts's.
 *
 * Two producers make the same tree: the fast one (js-yaml's event parser) takes plain
 * YAML, and declines anything else — text js-yaml rejects, anchors, aliases, tags,
 * directives — which the reference one (the `yaml` package) then parses, so every
 * diagnostic about YAML itself keeps the `yaml` package's message and position.
 */
import type { Diagnostic, SourceLocation } from './model.js';
import { fastParse } from './yaml-fast.js';
import { referenceParse } from './yaml-reference.js';
import { LineStarts, locate } from './yaml-tree.js';
import type { LinePositions, YamlDocument, YamlNode } from './yaml-tree.js';

export interface ParsedFile {
  readonly file: string;
  /** Documents without syntax errors, in file order (empty ones left out). */
  readonly documents: readonly YamlDocument[];
  readonly lines: LinePositions;
  readonly diagnostics: readonly Diagnostic[];
  /** Which producer made the documents: 'fast' (js-yaml) or 'reference' (the `yaml` package). */
  readonly producer: 'fast' | 'reference';
}

/** Where a node starts; the fallback when it has no position. */
export function nodeLocation(file: string, lines: LinePositions, node: YamlNode | null | undefined, fallback: SourceLocation): SourceLocation {
  return node != null && node.offset >= 0 ? locate(file, lines, node.offset) : fallback;
}

/**
 * Splits a file into its `---`-separated documents. A document with a syntax error is
 * reported and left out of `documents`; the other documents of the file are still checked
 * (see yaml-reference.ts). A byte order mark is not part of the text positions count in.
 */
export function parsePolicyText(file: string, text: string): ParsedFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let fast: YamlDocument[] | null = null;
  try {
    fast = fastParse(body);
  } catch {
    // Not expected; the reference path parses and reports whatever made the fast one fail.
  }
  if (fast !== null) {
    return { file, documents: fast, lines: new LineStarts(body), diagnostics: [], producer: 'fast' };
  }
  const ref = referenceParse(file, body);
  return { file, documents: ref.documents, lines: ref.lines, diagnostics: ref.diagnostics, producer: 'reference' };
}
