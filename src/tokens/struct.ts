/** google.protobuf.Struct as proto-loader decodes it (oneofs: true) -> plain JSON. */

const MAX_DEPTH = 16;

/** The JSON object a Struct stands for; null when absent or malformed (too deep, unknown kind). */
export function structToJson(struct: unknown): Record<string, unknown> | null {
  return structValue(struct, 0);
}

function structValue(struct: unknown, depth: number): Record<string, unknown> | null {
  if (depth > MAX_DEPTH || typeof struct !== 'object' || struct === null) return null;
  const fields = (struct as { fields?: unknown }).fields;
  const out: Record<string, unknown> = {};
  if (fields === undefined || fields === null) return out;
  if (typeof fields !== 'object') return null;
  for (const [k, v] of Object.entries(fields as Record<string, unknown>)) {
    const json = value(v, depth + 1);
    if (json === undefined) return null;
    out[k] = json;
  }
  return out;
}

function value(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  switch (o['kind']) {
    case 'nullValue':
      return null;
    case 'numberValue':
      return typeof o['numberValue'] === 'number' && Number.isFinite(o['numberValue']) ? o['numberValue'] : undefined;
    case 'stringValue':
      return typeof o['stringValue'] === 'string' ? o['stringValue'] : undefined;
    case 'boolValue':
      return typeof o['boolValue'] === 'boolean' ? o['boolValue'] : undefined;
    case 'structValue':
      return structValue(o['structValue'], depth + 1) ?? undefined;
    case 'listValue': {
      const values = (o['listValue'] as { values?: unknown } | null)?.values ?? [];
      if (!Array.isArray(values)) return undefined;
      const out: unknown[] = [];
      for (const item of values) {
        const json = value(item, depth + 1);
        if (json === undefined) return undefined;
        out.push(json);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Plain JSON object -> Struct message for the client side (`mandate token` CLI, tests). */
export function jsonToStruct(obj: Readonly<Record<string, unknown>>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return { fields };
}

function toValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}
