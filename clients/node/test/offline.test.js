// What needs no daemon: errors from status codes, request building, the backoff, and
// reconnection against a stand-in EventService served by grpc-js in this process.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import {
  Backoff,
  errorFromGrpc,
  FailedPrecondition,
  NotFound,
  Tidings,
  TidingsError,
  Unimplemented,
} from '../src/index.js';
import { eventFromProto, folderFromProto } from '../src/convert.js';
import { loadTidingsPackage } from '../src/proto.js';
import { listMessagesRequest, outgoingMessage } from '../src/requests.js';
import { nextMatching, within } from '../testing/stack.js';

describe('errorFromGrpc', () => {
  test('picks the class of the status code and keeps the server message', () => {
    const error = errorFromGrpc({ code: grpc.status.NOT_FOUND, details: "grant 'g1' not found", message: '5 NOT_FOUND: x' });
    assert.ok(error instanceof NotFound && error instanceof TidingsError && error instanceof Error);
    assert.deepEqual([error.code, error.grpcCode, error.message, error.name],
      ['NOT_FOUND', 5, "grant 'g1' not found", 'NotFound']);
    assert.ok(errorFromGrpc({ code: grpc.status.FAILED_PRECONDITION, details: 'x' }) instanceof FailedPrecondition);
    assert.ok(errorFromGrpc({ code: grpc.status.UNIMPLEMENTED, details: 'x' }) instanceof Unimplemented);
  });

  test('codes without a class give a TidingsError carrying the code', () => {
    const error = errorFromGrpc({ code: grpc.status.INTERNAL, details: 'boom' });
    assert.equal(error.constructor, TidingsError);
    assert.deepEqual([error.code, error.grpcCode, error.message], ['INTERNAL', 13, 'boom']);
    assert.equal(errorFromGrpc(new Error('odd')).code, 'UNKNOWN');
  });
});

describe('requests and conversions', () => {
  test('unset filters stay unset; set ones use the proto names', () => {
    assert.deepEqual(listMessagesRequest('g', {}), { grant_id: 'g' });
    assert.deepEqual(listMessagesRequest('g', { folderId: 'f', unread: false, from: ['a@b'], receivedAfter: new Date(1500) }),
      { grant_id: 'g', in_: 'f', unread: false, from_: ['a@b'], received_after: 1 });
  });

  test('outgoing addresses accept strings or {email, name}', () => {
    const fields = outgoingMessage({ to: ['a@example.org', { email: 'b@example.org', name: 'B' }], from: 'me@example.org',
      customHeaders: { 'X-Tag': 'x' }, attachments: [{ filename: 'a.txt', content: 'hi' }] });
    assert.deepEqual(fields.to, [{ email: 'a@example.org', name: '' }, { email: 'b@example.org', name: 'B' }]);
    assert.deepEqual(fields.from_, { email: 'me@example.org', name: '' });
    assert.deepEqual(fields.custom_headers, [{ name: 'X-Tag', value: 'x' }]);
    assert.deepEqual(fields.attachments, [{ filename: 'a.txt', content: Buffer.from('hi') }]);
  });

  test('an unset optional field reads as null, and an unknown event object as none', () => {
    const v1 = loadTidingsPackage();
    const method = v1.FolderService.service.GetFolder;
    const decode = (/** @type {object} */ folder) => method.responseDeserialize(method.responseSerialize(folder));
    assert.equal(folderFromProto(decode({ id: 'f', role: 'FOLDER_ROLE_SENT' })).parentId, null);
    assert.equal(folderFromProto(decode({ id: 'f', parent_id: '' })).parentId, '');
    assert.equal(folderFromProto(decode({ id: 'f' })).role, 'none');
    const event = eventFromProto({ cursor: 'c', id: 'e', type: 'x.y', grant_id: 'g', object_id: 'o', created_at: 2, truncated: false, object: 'gadget' });
    assert.deepEqual([event.object, event.objectKind, event.createdAt.getTime()], [null, null, 2000]);
  });
});

describe('Backoff', () => {
  test('grows to the cap with jitter between half and all, and resets', () => {
    const low = new Backoff({ initialMs: 100, maximumMs: 1000, random: () => 0 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => low.next()), [50, 100, 200, 400, 500]);
    low.reset();
    assert.equal(low.next(), 50);
    const high = new Backoff({ initialMs: 100, maximumMs: 1000, random: () => 1 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000]);
  });
});

describe('watchEvents reconnecting', () => {
  /** @type {grpc.Server} */
  let server;
  /** @type {string} */
  let address;
  /** @type {(string | undefined)[]} */
  const requested = [];
  /** @type {string[]} */
  const keys = [];

  // A stand-in EventService: the first subscription delivers two events and then fails
  // as a daemon going away does; later ones deliver the event after the cursor asked
  // for. GetCursor answers the start of this small log.
  const log = ['c1', 'c2', 'c3'];
  before(async () => {
    const v1 = loadTidingsPackage();
    server = new grpc.Server();
    server.addService(v1.EventService.service, {
      /** @param {grpc.ServerWritableStream<any, any>} call */
      Subscribe(call) {
        requested.push(call.request.cursor);
        keys.push(String(call.metadata.get('authorization')[0]));
        const after = log.indexOf(call.request.cursor) + 1;
        if (requested.length === 1) {
          call.write({ cursor: 'c2', events: log.slice(after, 2).map(event) });
          call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
          return;
        }
        call.write({ cursor: log.at(-1), events: log.slice(after).map(event) });
      },
      /** @param {grpc.ServerUnaryCall<any, any>} _call @param {grpc.sendUnaryData<any>} callback */
      GetCursor(_call, callback) {
        callback(null, { cursor: 'c0' });
      },
    });
    const port = await new Promise((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
        (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());

  test('resumes after the last event handed out, without repeats', async () => {
    const tidings = new Tidings({ address, apiKey: 'key-1', maxBackoffMs: 200 });
    const stream = tidings.watchEvents();
    /** @type {import('../src/models.js').Event[]} */
    const seen = [];
    try {
      await nextMatching(stream, (e) => e.cursor === 'c3', { ms: 10_000, seen, what: 'c3' });
    } finally {
      tidings.close();
    }
    assert.deepEqual(seen.map((e) => e.id), ['id-c1', 'id-c2', 'id-c3']);
    assert.deepEqual(requested, ['c0', 'c2']);
    assert.equal(stream.reconnects, 1);
    assert.equal(stream.cursor, 'c3');
    assert.deepEqual(keys, ['Bearer key-1', 'Bearer key-1']);
    assert.deepEqual(await within(stream.next(), 1000, 'end after close()'), { done: true, value: undefined });
  });
});

/** @param {string} cursor */
function event(cursor) {
  return { cursor, id: `id-${cursor}`, type: 'message.deleted', grant_id: 'g', object_id: cursor, created_at: 1 };
}
