/**
 * The small YAML node tree validate.ts reads, whichever parser produced it (yaml-fast.ts or
 * yaml-reference.ts). It holds only what the checks use: values, structure and the offset
 * each node starts at, so positions come out the same from either producer.
 */
import type { SourceLocation } from './model.js';

/** A plain scalar resolved as YAML 1.2 core does; quoted and block scalars are strings. */
export type ScalarValue = string | number | boolean | null;

export interface YamlScalar {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** Offset of the node's first character (a quote or block indicator included); -1 if unknown. */
  readonly offset: number;
}

export interface YamlPair {
  readonly key: YamlNode | null;
  /** null only when the parser gave the pair no value node at all. */
  readonly value: YamlNode | null;
}

export interface YamlMap {
  readonly kind: 'map';
  readonly pairs: readonly YamlPair[];
  readonly offset: number;
}

export interface YamlSeq {
  readonly kind: 'seq';
  readonly items: readonly (YamlNode | null)[];
  readonly offset: number;
}

export type YamlNode = YamlScalar | YamlMap | YamlSeq;

/**
 * One document's content. Producers leave out empty documents and those whose content is
 * a null scalar (`~`, `null`): nothing in them is checked, and the two parsers count
 * empty documents differently around `...` markers.
 */
export interface YamlDocument {
  readonly root: YamlNode;
}

/** Offset → 1-based line and column, the contract of the `yaml` package's LineCounter. */
export interface LinePositions {
  linePos(offset: number): { line: number; col: number };
}

/**
 * Line starts of a text, found once; a position is a binary search. Lines end at "\n" only
 * (a "\r" before it counts as a column), and columns count UTF-16 code units, as the
 * `yaml` package's LineCounter does, so both producers report the same line:column.
 */
export class LineStarts implements LinePositions {
  private readonly starts: Uint32Array;

  constructor(text: string) {
    let count = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
    const starts = new Uint32Array(count);
    let n = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts[n++] = i + 1;
    this.starts = starts;
  }

  linePos(offset: number): { line: number; col: number } {
    const starts = this.starts;
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    if (low < starts.length && starts[low] === offset) return { line: low + 1, col: 1 };
    if (low === 0) return { line: 0, col: offset };
    return { line: low, col: offset - starts[low - 1]! + 1 };
  }
}

/** 1-based line and column of a character offset. */
export function locate(file: string, lines: LinePositions, offset: number): SourceLocation {
  const { line, col } = lines.linePos(offset);
  return { file, line, column: col };
}
