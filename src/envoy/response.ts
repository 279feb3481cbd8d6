/**
 * Decision → CheckResponse (SPEC section 5, "Responses"). The RPC itself always succeeds;
 * allow and deny travel in CheckResponse.status. Denials carry only the reason code and
 * the decision id: no policy detail reaches the caller.
 */
import { REASONS } from '../errors.js';
import type { Decision } from '../decision/types.js';

interface HeaderOption {
  header: { key: string; value: string };
  append: { value: boolean };
}

// `append: false` makes Envoy set (overwrite) the header, so a caller cannot smuggle its
// own x-mandate-* values upstream next to ours.
function header(key: string, value: string): HeaderOption {
  return { header: { key, value }, append: { value: false } };
}

// google.protobuf.Value comes from protobufjs's bundled well-known types, whose field
// names are lowerCamelCase whatever keepCase says.
type StructValue = { stringValue: string } | { boolValue: boolean } | { nullValue: 'NULL_VALUE' };

function sv(v: string | null): StructValue {
  return v === null ? { nullValue: 'NULL_VALUE' } : { stringValue: v };
}

// Fixed parts of every denial, built once.
const DENY_CONTENT_TYPE = header('content-type', 'application/json');
const DENY_BODY_PREFIX = '{"error":"access_denied","reason":"';

/**
 * Headers a caller might send that only mandate may set on an allowed request: each one
 * this response does not set is removed, so a forged value never reaches the upstream
 * (a dry-run allow without a mandate or function leaves those headers out, SPEC 5).
 */
function headersToRemove(d: Decision): string[] {
  const remove: string[] = [];
  if (d.mandate === null) remove.push('x-mandate-name');
  if (d.function === null) remove.push('x-mandate-function');
  if (d.wouldDeny === null) remove.push('x-mandate-dry-run');
  remove.push('x-mandate-reason');
  return remove;
}

export function toCheckResponse(d: Decision): object {
  if (d.decision === 'allow') {
    const headers: HeaderOption[] = [];
    if (d.mandate !== null) headers.push(header('x-mandate-name', d.mandate));
    if (d.function !== null) headers.push(header('x-mandate-function', d.function));
    headers.push(header('x-mandate-decision-id', d.decisionId));
    if (d.wouldDeny !== null) headers.push(header('x-mandate-dry-run', d.wouldDeny));
    const remove = headersToRemove(d);
    const fields: Record<string, StructValue> = {
      decision_id: sv(d.decisionId),
      mandate: sv(d.mandate),
      function: sv(d.function),
      reason: sv(d.reason),
      dry_run: { boolValue: d.dryRun },
    };
    if (d.dryRun) fields['would_deny'] = sv(d.wouldDeny);
    return {
      status: { code: 0 },
      ok_response: { headers, headers_to_remove: remove },
      dynamic_metadata: { fields },
    };
  }
  const info = REASONS[d.reason];
  return {
    status: { code: info.grpcCode },
    dynamic_metadata: {
      fields: {
        decision_id: sv(d.decisionId),
        mandate: sv(d.mandate),
        function: sv(d.function),
        reason: sv(d.reason),
        dry_run: { boolValue: false },
      },
    },
    denied_response: {
      status: { code: info.httpStatus },
      headers: [
        header('x-mandate-reason', d.reason),
        header('x-mandate-decision-id', d.decisionId),
        DENY_CONTENT_TYPE,
      ],
      body: `${DENY_BODY_PREFIX}${d.reason}","decision_id":"${d.decisionId}"}`,
    },
  };
}
