// What the daemon refuses arrives as the TidingsError subclass of its status code,
// with the server's own message.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  InvalidArgument,
  NotFound,
  TidingsError,
  Unauthenticated,
} from '../src/index.js';
import { client, nextMatching, skip, stack } from '../testing/stack.js';

/** @import { Tidings } from '../src/index.js' */

describe('errors from the daemon', { skip }, () => {
  /** @type {Tidings} */
  let tidings;
  /** @type {Tidings} */
  let stranger;

  before(() => {
    tidings = client();
    stranger = client({ apiKey: 'tk_not-a-key-the-daemon-knows' });
  });
  after(() => {
    tidings.close();
    stranger.close();
  });

  test('a bad API key is Unauthenticated on every call', async () => {
    const error = await rejection(stranger.listConnectors());
    assert.ok(error instanceof Unauthenticated);
    assert.ok(error instanceof TidingsError);
    assert.equal(error.code, 'UNAUTHENTICATED');
    assert.equal(error.grpcCode, 16);
    assert.equal(error.name, 'Unauthenticated');
    assert.ok(error.message.length > 0 && !error.message.includes('Traceback'), error.message);
    assert.ok(await rejection(stranger.getGrant(stack.grantId)) instanceof Unauthenticated);
  });

  test('a bad API key ends an event stream instead of reconnecting', async () => {
    const stream = stranger.watchEvents({ cursor: await tidings.getCursor() });
    const error = await rejection(nextMatching(stream, () => true, { ms: 10_000 }));
    assert.ok(error instanceof Unauthenticated, String(error));
    assert.ok(stream.closed);
    assert.equal(stream.reconnects, 0);
  });

  test('a missing grant is NotFound naming it', async () => {
    const error = await rejection(tidings.getGrant('no-such-grant'));
    assert.ok(error instanceof NotFound, String(error));
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.grpcCode, 5);
    assert.match(error.message, /no-such-grant/);
    assert.ok(await rejection(tidings.listMessages('no-such-grant')) instanceof NotFound);
    assert.ok(await rejection(tidings.getMessage(stack.grantId, 'no-such-message')) instanceof NotFound);
  });

  test('a malformed cursor is InvalidArgument from the iteration', async () => {
    const stream = tidings.watchEvents({ cursor: 'not a cursor' });
    const error = await rejection(nextMatching(stream, () => true, { ms: 10_000 }));
    assert.ok(error instanceof InvalidArgument, String(error));
    assert.match(error.message, /cursor/);
    assert.ok(stream.closed);
  });
});

/**
 * The error a promise rejects with (fails the test when it resolves).
 * @param {Promise<unknown>} promise
 * @returns {Promise<any>}
 */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}
