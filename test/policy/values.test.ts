import { describe, expect, it } from 'vitest';
import { parseDuration, parseReviewBy } from '../../src/policy/values.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['1h', 3600],
    ['1h30m', 5400],
    ['1h0m1s', 3601],
    ['2m30s', 150],
    ['0h5m', 300],
    ['0005m', 300],
    ['7200s', 7200],
    // Go's grammar: fractions, any unit, any order, repetition, a plus sign.
    ['1.5h', 5400],
    ['1.5m', 90],
    ['.5m', 30],
    ['5.s', 5],
    ['0.7h', 2520],
    ['90000ms', 90],
    ['1500ms1500ms', 3],
    ['30m1h', 5400],
    ['1m1m', 120],
    ['+5m', 300],
    ['2000000us', 2],
    ['1000000000ns', 1],
    ['1h0m0s', 3600],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toEqual({ value: seconds, error: null });
  });

  it.each([
    ['empty', ''],
    ['a sign alone', '-'],
    ['no unit', '300'],
    ['days', '1d'],
    ['upper-case unit', '5M'],
    ['space', '5 m'],
    ['a point alone', '.s'],
    ['two points', '1.5.5s'],
    ['unit without number', 'm'],
    ['trailing garbage', '5mx'],
    ['trailing number', '5m3'],
    ['ISO-8601', 'PT5M'],
    ['beyond int64 nanoseconds', '9999999999999s'],
  ])('rejects %s as no duration', (_name, text) => {
    const r = parseDuration(text);
    expect(r.value).toBeNull();
    expect(r.error).toContain('is not a duration');
  });

  it.each([
    ['zero', '0'],
    ['zero with a unit', '0s'],
    ['zero everywhere', '0h0m0s'],
    ['negative', '-5m'],
  ])('rejects %s as no lifetime', (_name, text) => {
    expect(parseDuration(text)).toEqual({ value: null, error: `"${text}" is not a usable duration: it must be longer than zero (write e.g. 90s, 5m, 1h or 1h30m)` });
  });

  it.each([
    ['milliseconds', '500ms'],
    ['a fraction of a second', '1.5s'],
    ['nanoseconds past a second', '1000000001ns'],
  ])('rejects %s: a lifetime is whole seconds', (_name, text) => {
    expect(parseDuration(text).error).toContain('a token lifetime is a whole number of seconds');
  });
});

describe('parseReviewBy', () => {
  it.each([
    ['date is midnight UTC', '2027-03-01', Date.UTC(2027, 2, 1)],
    ['leap day', '2028-02-29', Date.UTC(2028, 1, 29)],
    ['date-time Z', '2027-03-01T12:30:15Z', Date.UTC(2027, 2, 1, 12, 30, 15)],
    ['positive offset', '2027-03-01T02:00:00+02:00', Date.UTC(2027, 2, 1, 0, 0, 0)],
    ['negative offset', '2027-02-28T19:00:00-05:00', Date.UTC(2027, 2, 1, 0, 0, 0)],
    ['fraction', '2027-03-01T00:00:00.250Z', Date.UTC(2027, 2, 1) + 250],
    ['year below 100 is not 19xx', '0099-01-01', -59042995200000],
    ['no seconds (ISO-8601 reduced precision)', '2027-03-01T12:30Z', Date.UTC(2027, 2, 1, 12, 30, 0)],
    ['lower-case t and z (RFC 3339)', '2027-03-01t12:30:15z', Date.UTC(2027, 2, 1, 12, 30, 15)],
    ['basic-format offset', '2027-03-01T02:00:00+0200', Date.UTC(2027, 2, 1, 0, 0, 0)],
  ])('%s: %s', (_name, text, ms) => {
    expect(parseReviewBy(text)).toEqual({ value: ms, error: null });
  });

  it.each([
    ['no offset', '2027-03-01T12:00:00'],
    ['offset without minutes', '2027-03-01T12:00:00+02'],
    ['February 30', '2027-02-30'],
    ['February 29 in a common year', '2027-02-29'],
    ['month 13', '2027-13-01'],
    ['day 0', '2027-01-00'],
    ['hour 24', '2027-01-01T24:00:00Z'],
    ['offset hour 24', '2027-01-01T00:00:00+24:00'],
    ['compact form', '20270301'],
    ['slashes', '2027/03/01'],
    ['US order', '03-01-2027'],
    ['words', 'next spring'],
    ['space separator', '2027-03-01 12:00:00Z'],
  ])('rejects %s', (_name, text) => {
    const r = parseReviewBy(text);
    expect(r.value).toBeNull();
    expect(r.error).toContain('is not a date');
  });
});
