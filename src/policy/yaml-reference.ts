/**
 * The reference producer: the `yaml` package parses the text, its diagnostics (YAML_SYNTAX,
 * YAML_ALIAS) are made here, and the documents without problems become yaml-tree nodes.
 * Every file the fast producer declines comes this way, so odd constructs and syntax
 * errors keep the messages and positions the `yaml` package gives them.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import type { Node } from 'yaml';
import { diagnostic, fileStart } from './diagnostics.js';
import type { Diagnostic, SourceLocation } from './model.js';
import { locate } from './yaml-tree.js';
import type { LinePositions, ScalarValue, YamlDocument, YamlNode, YamlPair } from './yaml-tree.js';

export interface ReferenceParse {
  /** Documents without syntax errors or anchors, in file order (empty ones left out). */
  readonly documents: readonly YamlDocument[];
  readonly lines: LinePositions;
  readonly diagnostics: readonly Diagnostic[];
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return (nl < 0 ? message : message.slice(0, nl)).trim();
}

function scalarValue(value: unknown): ScalarValue {
  // The core schema yields only these; anything else is shown as its text.
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** A `yaml` node (never an alias: documents with aliases are not converted) as a tree node. */
function fromYamlNode(node: unknown): YamlNode | null {
  if (node === null || node === undefined) return null;
  const offset = (node as Node).range?.[0] ?? -1;
  if (isScalar(node)) return { kind: 'scalar', value: scalarValue(node.value), offset };
  if (isMap(node)) {
    const pairs: YamlPair[] = node.items.map((p) => ({ key: fromYamlNode(p.key), value: fromYamlNode(p.value) }));
    return { kind: 'map', pairs, offset };
  }
  if (isSeq(node)) return { kind: 'seq', items: node.items.map(fromYamlNode), offset };
  throw new Error(`unexpected YAML node ${String(node)}`);
}

/** A document's content as a root: null for an empty document or a null scalar. */
function documentRoot(node: YamlNode | null): YamlNode | null {
  return node !== null && node.kind === 'scalar' && node.value === null ? null : node;
}

/**
 * Splits a file into its `---`-separated documents with the `yaml` package. A document
 * with a syntax error is reported and left out: its tree is a guess, and checking a guess
 * buries the real problem under follow-on noise. The other documents are still checked.
 * Anchors and aliases are refused (YAML_ALIAS): a policy should say each grant where it
 * applies, and alias expansion is the classic way to make a small file huge.
 */
export function referenceParse(file: string, body: string): ReferenceParse {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const documents: YamlDocument[] = [];
  const parsed = parseAllDocuments(body, {
    lineCounter,
    prettyErrors: false,
    // Duplicate keys are reported by validate.ts at each repeated key, as DUPLICATE_KEY.
    uniqueKeys: false,
  });
  const start = fileStart(file);
  const at = (node: Node): SourceLocation => (node.range ? locate(file, lineCounter, node.range[0]) : start);
  if (!Array.isArray(parsed) || ('empty' in parsed && parsed.empty === true)) {
    const info = parsed as unknown as { errors?: readonly { message: string; pos: [number, number] }[] };
    for (const e of info.errors ?? []) {
      diagnostics.push(diagnostic(locate(file, lineCounter, e.pos[0]), 'YAML_SYNTAX', firstLine(e.message)));
    }
    return { documents, lines: lineCounter, diagnostics };
  }
  for (const doc of parsed) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        diagnostics.push(diagnostic(locate(file, lineCounter, e.pos[0]), 'YAML_SYNTAX', firstLine(e.message)));
      }
      continue;
    }
    let aliases = 0;
    visit(doc, {
      Alias: (_key, node) => {
        aliases++;
        diagnostics.push(diagnostic(at(node), 'YAML_ALIAS', `alias "*${node.source}" is not supported: write the value out`));
      },
      Node: (_key, node) => {
        if (!isAlias(node) && node.anchor) {
          aliases++;
          diagnostics.push(diagnostic(at(node), 'YAML_ALIAS', `anchor "&${node.anchor}" is not supported: write the value out`));
        }
      },
    });
    if (aliases > 0) continue;
    const root = documentRoot(fromYamlNode(doc.contents));
    if (root !== null) documents.push({ root });
  }
  return { documents, lines: lineCounter, diagnostics };
}
