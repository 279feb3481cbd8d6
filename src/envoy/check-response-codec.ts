/**
 * Decision → CheckResponse bytes, without building the response object and having
 * protobufjs encode it (issue 9: that pair was 8.8% of the server's CPU at 2,000 checks/s).
 * Everything fixed — status, header keys with `append: false`, the deny content-type,
 * per-reason headers, body prefixes and metadata entries, the metadata keys — is encoded
 * once; a call writes the few strings that vary (decision id, mandate, function).
 *
 * The bytes are those proto-loader writes for toCheckResponse(d) (the test compares them
 * byte for byte): fields in field-number order as protobufjs writes them, map entries in
 * toCheckResponse's insertion order, explicit zero values (status code 0, bool false,
 * NULL_VALUE) written as protobufjs writes any field that is set. toCheckResponse stays the
 * readable definition (and `mandate check` prints it); anything this file has no
 * pre-encoded piece for takes that path.
 */
import { REASON_CODES, REASONS, type ReasonCode } from '../errors.js';
import type { Decision } from '../decision/types.js';
import { checkMethodDefinition } from './protos.js';
import { toCheckResponse } from './response.js';

// --- Wire helpers ------------------------------------------------------------------------

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Size of a length-delimited field with a one-byte tag and a payload of n bytes. */
function fieldSize(n: number): number {
  return 1 + varintSize(n) + n;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (one-byte tag) around `payload`, for the tables built once. */
function field(tagByte: number, ...payload: Buffer[]): Buffer {
  const p = Buffer.concat(payload);
  return Buffer.concat([Buffer.from([tagByte, ...varintBytes(p.length)]), p]);
}
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

// Tags (field number << 3 | wire type 2, or 0 for varints), from
// envoy/service/auth/v3/external_auth.proto, envoy/config/core/v3/base.proto,
// google/rpc/status.proto and google/protobuf/{struct,wrappers}.proto.
const CHECK_STATUS = 0x0a; // CheckResponse.status = 1
const CHECK_DENIED = 0x12; // CheckResponse.denied_response = 2
const CHECK_OK = 0x1a; // CheckResponse.ok_response = 3
const CHECK_METADATA = 0x22; // CheckResponse.dynamic_metadata = 4
const RPC_STATUS_CODE = 0x08; // google.rpc.Status.code = 1 (varint)
const DENIED_STATUS = 0x0a; // DeniedHttpResponse.status = 1
const DENIED_HEADERS = 0x12; // DeniedHttpResponse.headers = 2
const DENIED_BODY = 0x1a; // DeniedHttpResponse.body = 3
const HTTP_STATUS_CODE = 0x08; // envoy.type.v3.HttpStatus.code = 1 (varint)
const OK_HEADERS = 0x12; // OkHttpResponse.headers = 2
const OK_HEADERS_TO_REMOVE = 0x2a; // OkHttpResponse.headers_to_remove = 5
const HVO_HEADER = 0x0a; // HeaderValueOption.header = 1
const HVO_APPEND = 0x12; // HeaderValueOption.append = 2 (BoolValue)
const HV_KEY = 0x0a; // HeaderValue.key = 1
const HV_VALUE = 0x12; // HeaderValue.value = 2
const BOOL_VALUE = 0x08; // google.protobuf.BoolValue.value = 1 (varint)
const STRUCT_FIELDS = 0x0a; // Struct.fields = 1 (map entry)
const ENTRY_KEY = 0x0a; // map entry key = 1
const ENTRY_VALUE = 0x12; // map entry value = 2
const VALUE_NULL = 0x08; // Value.null_value = 1 (varint)
const VALUE_STRING = 0x1a; // Value.string_value = 3
const VALUE_BOOL = 0x20; // Value.bool_value = 4 (varint)

// --- Pre-encoded pieces --------------------------------------------------------------------

/** `append: {value: false}`: Envoy overwrites the header instead of adding to the caller's. */
const APPEND_FALSE = Buffer.from([HVO_APPEND, 2, BOOL_VALUE, 0]);
/** status: {code: 0}. */
const STATUS_OK = field(CHECK_STATUS, Buffer.from([RPC_STATUS_CODE, 0]));

/** A whole headers[] element with a fixed key and value. */
function headerOption(listTag: number, key: string, value: string): Buffer {
  return field(listTag, field(HVO_HEADER, field(HV_KEY, utf8(key)), field(HV_VALUE, utf8(value))), APPEND_FALSE);
}

/** A whole Struct.fields entry with a fixed key and Value. */
function structEntry(key: string, value: Buffer): Buffer {
  return field(STRUCT_FIELDS, field(ENTRY_KEY, utf8(key)), field(ENTRY_VALUE, value));
}
const nullValue = (): Buffer => Buffer.from([VALUE_NULL, 0]);
const stringValue = (s: string): Buffer => field(VALUE_STRING, utf8(s));
const boolValue = (b: boolean): Buffer => Buffer.from([VALUE_BOOL, b ? 1 : 0]);

const NAME_KEY = field(HV_KEY, utf8('x-mandate-name'));
const FUNCTION_KEY = field(HV_KEY, utf8('x-mandate-function'));
const ID_KEY = field(HV_KEY, utf8('x-mandate-decision-id'));
const MD_DECISION_ID = field(ENTRY_KEY, utf8('decision_id'));
const MD_MANDATE = field(ENTRY_KEY, utf8('mandate'));
const MD_FUNCTION = field(ENTRY_KEY, utf8('function'));
const MD_MANDATE_NULL = structEntry('mandate', nullValue());
const MD_FUNCTION_NULL = structEntry('function', nullValue());
const MD_DRY_RUN = [structEntry('dry_run', boolValue(false)), structEntry('dry_run', boolValue(true))] as const;
const MD_WOULD_DENY_NULL = structEntry('would_deny', nullValue());
const REMOVE_BOTH = Buffer.concat([field(OK_HEADERS_TO_REMOVE, utf8('x-mandate-dry-run')), field(OK_HEADERS_TO_REMOVE, utf8('x-mandate-reason'))]);
const REMOVE_REASON = field(OK_HEADERS_TO_REMOVE, utf8('x-mandate-reason'));
// Removed when the response does not set them (response.ts headersToRemove, same order).
const REMOVE_NAME = field(OK_HEADERS_TO_REMOVE, utf8('x-mandate-name'));
const REMOVE_FUNCTION = field(OK_HEADERS_TO_REMOVE, utf8('x-mandate-function'));
const DENY_CONTENT_TYPE = headerOption(DENIED_HEADERS, 'content-type', 'application/json');
const BODY_TAIL = utf8('"}');

interface ReasonPieces {
  /** Struct entry reason: "<code>". */
  readonly mdReason: Buffer;
  /** Struct entry would_deny: "<code>" (dry run). */
  readonly mdWouldDeny: Buffer;
  /** Allow header x-mandate-dry-run: <code>. */
  readonly dryRunHeader: Buffer;
  /** Deny: status {code: grpc}, denied_response.status {code: http}, x-mandate-reason header. */
  readonly denyStatus: Buffer;
  readonly denyHttpStatus: Buffer;
  readonly denyReasonHeader: Buffer;
  /** The body up to the decision id. */
  readonly bodyHead: Buffer;
}

const PIECES = new Map<string, ReasonPieces>(
  REASON_CODES.map((r: ReasonCode) => [
    r,
    {
      mdReason: structEntry('reason', stringValue(r)),
      mdWouldDeny: structEntry('would_deny', stringValue(r)),
      dryRunHeader: headerOption(OK_HEADERS, 'x-mandate-dry-run', r),
      denyStatus: field(CHECK_STATUS, Buffer.from([RPC_STATUS_CODE, ...varintBytes(REASONS[r].grpcCode)])),
      denyHttpStatus: field(DENIED_STATUS, Buffer.from([HTTP_STATUS_CODE, ...varintBytes(REASONS[r].httpStatus)])),
      denyReasonHeader: headerOption(DENIED_HEADERS, 'x-mandate-reason', r),
      bodyHead: utf8(`{"error":"access_denied","reason":"${r}","decision_id":"`),
    },
  ]),
);

// --- The writer ------------------------------------------------------------------------------

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }
  // The pieces are short and the strings mostly ASCII: plain loops beat a call into
  // Buffer's C++ copy/write, which was half of this encoder's time in the profile of
  // benchmarks/inproc-codec.mjs --what encode-fast (3.0 → 2.0 µs per response).
  bytes(b: Buffer): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }
  str(s: string, n: number): void {
    if (n !== s.length) {
      this.pos += this.buf.write(s, this.pos, n, 'utf8');
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
}

/**
 * UTF-8 byte length of a string, or -1 when it cannot be encoded from the pieces (a lone
 * surrogate). ASCII, the common case, is counted here without a call into C++.
 */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return LONE_SURROGATE.test(s) ? -1 : Buffer.byteLength(s, 'utf8');
  }
  return s.length;
}

/** Size of a headers[] element with a fixed key prefix and a value of n bytes. */
function headerSize(key: Buffer, n: number): number {
  return fieldSize(fieldSize(key.length + fieldSize(n)) + APPEND_FALSE.length);
}

function writeHeader(o: Out, listTag: number, key: Buffer, s: string, n: number): void {
  const hv = key.length + fieldSize(n);
  o.byte(listTag);
  o.varint(fieldSize(hv) + APPEND_FALSE.length);
  o.byte(HVO_HEADER);
  o.varint(hv);
  o.bytes(key);
  o.byte(HV_VALUE);
  o.varint(n);
  o.str(s, n);
  o.bytes(APPEND_FALSE);
}

/** A Struct entry with a fixed key prefix and a string Value of n bytes. */
function entrySize(key: Buffer, n: number): number {
  return fieldSize(key.length + fieldSize(fieldSize(n)));
}

function writeEntry(o: Out, key: Buffer, s: string, n: number): void {
  const value = fieldSize(n);
  o.byte(STRUCT_FIELDS);
  o.varint(key.length + fieldSize(value));
  o.bytes(key);
  o.byte(ENTRY_VALUE);
  o.varint(value);
  o.byte(VALUE_STRING);
  o.varint(n);
  o.str(s, n);
}

// A lone surrogate is written differently by protobufjs (its own UTF-8 writer below 40
// characters, Buffer's above); such strings take the reference path. Pairs are fine.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

let serialize: ((value: unknown) => Buffer) | null = null;

function responseSerializer(): (value: unknown) => Buffer {
  return (serialize ??= checkMethodDefinition().responseSerialize);
}

/** proto-loader's encoding of toCheckResponse(d): the reference this file must equal. */
export function referenceEncodeCheckResponse(d: Decision): Buffer {
  return responseSerializer()(toCheckResponse(d));
}

/**
 * The serializer registered for Check: bytes from encodeCheckResponse pass through,
 * anything else (a response object) is encoded by proto-loader as before.
 */
export function serializeCheckResponse(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : responseSerializer()(value);
}

/**
 * The CheckResponse for a decision, as bytes for grpc-js (registered with
 * serializeCheckResponse). Equal, byte for byte, to proto-loader's encoding of
 * toCheckResponse(d); throws where toCheckResponse throws.
 */
export function encodeCheckResponse(d: Decision): Buffer {
  return encodeFromPieces(d) ?? referenceEncodeCheckResponse(d);
}

/** For tests: whether a decision is encoded from the pre-encoded pieces (not the reference path). */
export function encodesFromPieces(d: Decision): boolean {
  return encodeFromPieces(d) !== null;
}

function encodeFromPieces(d: Decision): Buffer | null {
  const id = d.decisionId;
  const mandate = d.mandate;
  const fn = d.function;
  const reason = PIECES.get(d.reason);
  if (reason === undefined) return null;
  const idLen = utf8Length(id);
  const mandateLen = mandate === null ? 0 : utf8Length(mandate);
  const fnLen = fn === null ? 0 : utf8Length(fn);
  if (idLen < 0 || mandateLen < 0 || fnLen < 0) return null;
  const mdMandate = mandate === null ? MD_MANDATE_NULL.length : entrySize(MD_MANDATE, mandateLen);
  const mdFunction = fn === null ? MD_FUNCTION_NULL.length : entrySize(MD_FUNCTION, fnLen);
  const mdCommon = entrySize(MD_DECISION_ID, idLen) + mdMandate + mdFunction + reason.mdReason.length;

  if (d.decision === 'allow') {
    let wouldDeny: ReasonPieces | null = null;
    if (d.wouldDeny !== null) {
      wouldDeny = PIECES.get(d.wouldDeny) ?? null;
      if (wouldDeny === null) return null;
    }
    const ok =
      (mandate === null ? 0 : headerSize(NAME_KEY, mandateLen)) +
      (fn === null ? 0 : headerSize(FUNCTION_KEY, fnLen)) +
      headerSize(ID_KEY, idLen) +
      (wouldDeny === null ? 0 : wouldDeny.dryRunHeader.length) +
      (mandate === null ? REMOVE_NAME.length : 0) +
      (fn === null ? REMOVE_FUNCTION.length : 0) +
      (wouldDeny === null ? REMOVE_BOTH.length : REMOVE_REASON.length);
    const md = mdCommon + MD_DRY_RUN[d.dryRun ? 1 : 0].length + (d.dryRun ? (wouldDeny === null ? MD_WOULD_DENY_NULL : wouldDeny.mdWouldDeny).length : 0);
    const o = new Out(Buffer.allocUnsafe(STATUS_OK.length + fieldSize(ok) + fieldSize(md)));
    o.bytes(STATUS_OK);
    o.byte(CHECK_OK);
    o.varint(ok);
    if (mandate !== null) writeHeader(o, OK_HEADERS, NAME_KEY, mandate, mandateLen);
    if (fn !== null) writeHeader(o, OK_HEADERS, FUNCTION_KEY, fn, fnLen);
    writeHeader(o, OK_HEADERS, ID_KEY, id, idLen);
    if (wouldDeny !== null) o.bytes(wouldDeny.dryRunHeader);
    if (mandate === null) o.bytes(REMOVE_NAME);
    if (fn === null) o.bytes(REMOVE_FUNCTION);
    o.bytes(wouldDeny === null ? REMOVE_BOTH : REMOVE_REASON);
    o.byte(CHECK_METADATA);
    o.varint(md);
    writeMetadataCommon(o, id, idLen, mandate, mandateLen, fn, fnLen, reason);
    o.bytes(MD_DRY_RUN[d.dryRun ? 1 : 0]);
    if (d.dryRun) o.bytes(wouldDeny === null ? MD_WOULD_DENY_NULL : wouldDeny.mdWouldDeny);
    return o.buf;
  }

  const bodyLen = reason.bodyHead.length + idLen + BODY_TAIL.length;
  const denied = reason.denyHttpStatus.length + reason.denyReasonHeader.length + headerSize(ID_KEY, idLen) + DENY_CONTENT_TYPE.length + fieldSize(bodyLen);
  const md = mdCommon + MD_DRY_RUN[0].length;
  const o = new Out(Buffer.allocUnsafe(reason.denyStatus.length + fieldSize(denied) + fieldSize(md)));
  o.bytes(reason.denyStatus);
  o.byte(CHECK_DENIED);
  o.varint(denied);
  o.bytes(reason.denyHttpStatus);
  o.bytes(reason.denyReasonHeader);
  writeHeader(o, DENIED_HEADERS, ID_KEY, id, idLen);
  o.bytes(DENY_CONTENT_TYPE);
  o.byte(DENIED_BODY);
  o.varint(bodyLen);
  o.bytes(reason.bodyHead);
  o.str(id, idLen);
  o.bytes(BODY_TAIL);
  o.byte(CHECK_METADATA);
  o.varint(md);
  writeMetadataCommon(o, id, idLen, mandate, mandateLen, fn, fnLen, reason);
  o.bytes(MD_DRY_RUN[0]);
  return o.buf;
}

function writeMetadataCommon(o: Out, id: string, idLen: number, mandate: string | null, mandateLen: number, fn: string | null, fnLen: number, reason: ReasonPieces): void {
  writeEntry(o, MD_DECISION_ID, id, idLen);
  if (mandate === null) o.bytes(MD_MANDATE_NULL);
  else writeEntry(o, MD_MANDATE, mandate, mandateLen);
  if (fn === null) o.bytes(MD_FUNCTION_NULL);
  else writeEntry(o, MD_FUNCTION, fn, fnLen);
  o.bytes(reason.mdReason);
}
