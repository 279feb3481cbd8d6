/**
 * Policy text → YAML documents with positions. JSON files take the same path (JSON is
 * YAML 1.2 flow syntax), so they get the same positions and diagnostics. Syntax errors
 * become YAML_SYNTAX diagnostics; semantic checks are validate.ts's.
 */
import { LineCounter, isAlias, parseAllDocuments, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import { diagnostic } from './diagnostics.js';
import type { Diagnostic, SourceLocation } from './model.js';

export interface ParsedDocument {
  /** The parsed document; contents null for an empty document. */
  readonly doc: Document.Parsed;
  /** Where the document starts. */
  readonly location: SourceLocation;
}

export interface ParsedFile {
  readonly file: string;
  /** Documents without syntax errors, in file order (empty ones included). */
  readonly documents: readonly ParsedDocument[];
  readonly lineCounter: LineCounter;
  readonly diagnostics: readonly Diagnostic[];
}

/** 1-based line and column of a character offset. */
export function locate(file: string, lc: LineCounter, offset: number): SourceLocation {
  const { line, col } = lc.linePos(offset);
  return { file, line, column: col };
}

/** Where a node starts; the fallback when it has no range (a synthesised empty value). */
export function nodeLocation(file: string, lc: LineCounter, node: Node | null | undefined, fallback: SourceLocation): SourceLocation {
  const range = node?.range;
  return range ? locate(file, lc, range[0]) : fallback;
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return (nl < 0 ? message : message.slice(0, nl)).trim();
}

/**
 * Splits a file into its `---`-separated documents. A document with a syntax error is
 * reported and left out of `documents`: its tree is a guess, and checking a guess buries
 * the real problem under follow-on noise. The other documents of the file are still checked.
 * Anchors and aliases are refused (YAML_ALIAS): a policy should say each grant where it
 * applies, and alias expansion is the classic way to make a small file huge.
 */
export function parsePolicyText(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parsed = parseAllDocuments(body, {
    lineCounter,
    prettyErrors: false,
    // Duplicate keys are reported by validate.ts at each repeated key, as DUPLICATE_KEY.
    uniqueKeys: false,
  });
  const start = { file, line: 1, column: 1 };
  if (!Array.isArray(parsed) || ('empty' in parsed && parsed.empty === true)) {
    const info = parsed as unknown as { errors?: readonly { message: string; pos: [number, number] }[] };
    for (const e of info.errors ?? []) {
      diagnostics.push(diagnostic(locate(file, lineCounter, e.pos[0]), 'YAML_SYNTAX', firstLine(e.message)));
    }
    return { file, documents, lineCounter, diagnostics };
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
        diagnostics.push(
          diagnostic(nodeLocation(file, lineCounter, node, start), 'YAML_ALIAS', `alias "*${node.source}" is not supported: write the value out`),
        );
      },
      Node: (_key, node) => {
        if (!isAlias(node) && node.anchor) {
          aliases++;
          diagnostics.push(
            diagnostic(nodeLocation(file, lineCounter, node, start), 'YAML_ALIAS', `anchor "&${node.anchor}" is not supported: write the value out`),
          );
        }
      },
    });
    if (aliases > 0) continue;
    documents.push({ doc, location: locate(file, lineCounter, doc.range[0]) });
  }
  return { file, documents, lineCounter, diagnostics };
}
