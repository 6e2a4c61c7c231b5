import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as errors from '../../src/errors.ts';
import { statusByErrorType, toErrorResponse } from '../../src/http/error-map.ts';

describe('error map', () => {
  const cases: [errors.DiffguardError, number][] = [
    [new errors.BadRequestError('x'), 400],
    [new errors.ForbiddenSourceError('x'), 403],
    [new errors.UnknownDiffTypeError('x'), 404],
    [new errors.TooLargeError('x'), 413],
    [new errors.UndiffableContentError('x'), 422],
    [new errors.UndecodableContentError('x'), 422],
    [new errors.LimitExceededError('x', { limit: 'cpu' }), 422],
    [new errors.UpstreamError('x', { upstream_code: 404 }), 502],
    [new errors.UpstreamUnreachableError('x'), 502],
    [new errors.UpstreamTooLargeError('x'), 502],
    [new errors.HashMismatchError('x'), 502],
    [new errors.OverloadedError('x', { retry_after_seconds: 3 }), 503],
    [new errors.UpstreamTimeoutError('x'), 504],
    [new errors.DeadlineExceededError('x'), 504],
    [new errors.InternalError('x'), 500],
  ];
  for (const [error, status] of cases) {
    it(`${error.type} → ${status} with {code, error, type, ...details}`, () => {
      const response = toErrorResponse(error, { debug: false });
      assert.equal(response.status, status);
      assert.equal(response.body.code, status);
      assert.equal(response.body.type, error.type);
      assert.equal(response.body.error, 'x');
      for (const [key, value] of Object.entries(error.details)) assert.equal(response.body[key], value);
      assert.equal(response.body.stack, undefined);
    });
  }

  it('covers every error type', () => {
    assert.deepEqual(Object.keys(statusByErrorType).sort(), [...errors.ERROR_TYPES].sort());
  });

  it('sends Retry-After with 503 OVERLOADED', () => {
    assert.deepEqual(toErrorResponse(new errors.OverloadedError('busy', { retry_after_seconds: 3 }), { debug: false }).headers, { 'Retry-After': '3' });
  });

  it('hides unknown errors behind a generic INTERNAL answer unless debug is on', () => {
    const hidden = toErrorResponse(new Error('secret path /etc/x'), { debug: false });
    assert.equal(hidden.status, 500);
    assert.equal(hidden.body.type, 'INTERNAL');
    assert.doesNotMatch(JSON.stringify(hidden.body), /secret|stack/);
    const shown = toErrorResponse(new Error('secret path /etc/x'), { debug: true });
    assert.match(String(shown.body.error), /secret path/);
    assert.match(String(shown.body.stack), /Error: secret path/);
  });

  it('round-trips errors through their plain-data form (the worker boundary)', () => {
    const original = new errors.TooLargeError('too many tokens', { limit: 'tokens', max_tokens: 5 });
    const copy = errors.deserializeError(structuredClone(errors.serializeError(original)));
    assert.ok(copy instanceof errors.TooLargeError);
    assert.equal(copy.message, 'too many tokens');
    assert.deepEqual(copy.details, original.details);
    assert.equal(errors.serializeError(new TypeError('boom')).type, 'INTERNAL');
  });
});
