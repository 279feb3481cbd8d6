/** The Check registration keeps the official method definition and only swaps the codec. */
import { describe, expect, it } from 'vitest';
import { decodeCheckRequest } from '../../src/envoy/check-request-codec.js';
import { serializeCheckResponse } from '../../src/envoy/check-response-codec.js';
import { AUTHORIZATION_SERVICE, authorizationServiceDefinition, loadExtAuthzDefinition } from '../../src/envoy/protos.js';

describe('authorizationServiceDefinition', () => {
  const official = (loadExtAuthzDefinition()[AUTHORIZATION_SERVICE] as Record<string, any>)['Check'];
  const served = authorizationServiceDefinition({ requestDeserialize: decodeCheckRequest, responseSerialize: serializeCheckResponse })['Check'] as Record<string, any>;

  it('keeps path, name and streaming flags of the official definition', () => {
    expect(served['path']).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect([served['path'], served['originalName'], served['requestStream'], served['responseStream']]).toEqual([
      official['path'],
      official['originalName'],
      false,
      false,
    ]);
    expect(served['requestSerialize']).toBe(official['requestSerialize']);
    expect(served['responseDeserialize']).toBe(official['responseDeserialize']);
  });

  it('swaps only the server-side codec, leaving the cached definition as proto-loader made it', () => {
    expect(served['requestDeserialize']).toBe(decodeCheckRequest);
    expect(served['responseSerialize']).toBe(serializeCheckResponse);
    expect(official['requestDeserialize']).not.toBe(decodeCheckRequest);
    expect(official['responseSerialize']).not.toBe(serializeCheckResponse);
  });
});
