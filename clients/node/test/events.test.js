// watchEvents against a real daemon: live events after a delivery, resuming from a
// cursor with nothing repeated, and the ways a stream ends.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  client,
  createdWithSubject,
  deliver,
  nextMatching,
  rfc5322,
  skip,
  stack,
  uniqueSubject,
  within,
} from '../testing/stack.js';

/** @import { Tidings } from '../src/index.js' */
/** @import * as M from '../src/models.js' */

describe('watchEvents', { skip }, () => {
  /** @type {Tidings} */
  let tidings;

  before(() => {
    tidings = client({ maxBackoffMs: 500 });
  });
  after(() => tidings.close());

  test('sees message.created once delivered mail is synced', async () => {
    const subject = uniqueSubject('live');
    const cursor = await tidings.getCursor();
    const stream = tidings.watchEvents({ cursor, grantIds: [stack.mailGrantId], types: ['message.created'] });
    try {
      await deliver(rfc5322({ subject, to: stack.mailEmail, body: 'delivered over LMTP' }));
      const event = await nextMatching(stream, createdWithSubject(subject), { what: `message.created "${subject}"` });
      assert.equal(event.grantId, stack.mailGrantId);
      assert.equal(event.objectKind, 'message');
      const message = /** @type {M.Message} */ (event.object);
      assert.equal(event.objectId, message.id);
      assert.deepEqual(message.from, [{ email: 'node@example.com', name: 'Node Test' }]);
      assert.equal(stream.cursor, event.cursor);
      assert.ok(Math.abs(Date.now() - event.createdAt.getTime()) < 120_000);
      const stored = await tidings.getMessage(stack.mailGrantId, message.id);
      assert.equal(stored.subject, subject);
      assert.match(stored.body, /delivered over LMTP/);
    } finally {
      stream.close();
    }
  });

  test('resumes from a cursor with nothing repeated', async () => {
    const start = await tidings.getCursor();
    const first = uniqueSubject('before resume');
    const second = uniqueSubject('after resume');

    /** @type {M.Event[]} */
    const seenBefore = [];
    const one = tidings.watchEvents({ cursor: start, grantIds: [stack.mailGrantId] });
    await deliver(rfc5322({ subject: first, to: stack.mailEmail }));
    await nextMatching(one, createdWithSubject(first), { seen: seenBefore, what: `"${first}"` });
    const resumeAt = one.cursor;
    one.close();
    assert.ok(resumeAt);

    await deliver(rfc5322({ subject: second, to: stack.mailEmail }));
    /** @type {M.Event[]} */
    const seenAfter = [];
    const two = tidings.watchEvents({ cursor: resumeAt, grantIds: [stack.mailGrantId] });
    try {
      await nextMatching(two, createdWithSubject(second), { seen: seenAfter, what: `"${second}"` });
    } finally {
      two.close();
    }
    const before = new Set(seenBefore.map((e) => e.id));
    assert.deepEqual(seenAfter.filter((e) => before.has(e.id)), []);
    assert.ok(!seenAfter.some(createdWithSubject(first)));

    // From the start again: the log in order, each event once.
    /** @type {M.Event[]} */
    const replayed = [];
    const three = tidings.watchEvents({ cursor: start, grantIds: [stack.mailGrantId], types: ['message.created'] });
    try {
      await nextMatching(three, createdWithSubject(second), { seen: replayed, what: `replayed "${second}"` });
    } finally {
      three.close();
    }
    const subjects = replayed.map((e) => /** @type {M.Message} */ (e.object).subject);
    assert.ok(subjects.indexOf(first) >= 0 && subjects.indexOf(first) < subjects.indexOf(second), subjects.join(', '));
    assert.equal(new Set(replayed.map((e) => e.id)).size, replayed.length);
  });

  test('close() ends a waiting iteration; break and an abort signal end the stream', async () => {
    // Both streams are subscribed once they have handed out the delivered message; then
    // each waits for an event that does not come until it is closed or aborted.
    const opened = uniqueSubject('opened');
    const from = { cursor: await tidings.getCursor(), grantIds: [stack.mailGrantId], types: ['message.created'] };
    const stream = tidings.watchEvents(from);
    const controller = new AbortController();
    const aborted = tidings.watchEvents({ ...from, signal: controller.signal });
    await deliver(rfc5322({ subject: opened, to: stack.mailEmail }));
    await nextMatching(stream, createdWithSubject(opened), { what: `"${opened}"` });
    await nextMatching(aborted, createdWithSubject(opened), { what: `"${opened}"` });

    const waiting = stream.next();
    stream.close();
    assert.deepEqual(await within(waiting, 10_000, 'end after close()'), { done: true, value: undefined });
    assert.ok(stream.closed);

    const pending = aborted.next();
    controller.abort();
    assert.deepEqual(await within(pending, 10_000, 'end after abort'), { done: true, value: undefined });
    assert.ok(aborted.closed);

    const subject = uniqueSubject('break');
    const looped = tidings.watchEvents({ cursor: await tidings.getCursor(), grantIds: [stack.mailGrantId] });
    await deliver(rfc5322({ subject, to: stack.mailEmail }));
    const loop = async () => {
      for await (const event of looped) {
        if (createdWithSubject(subject)(event)) break;
      }
    };
    await within(loop(), 60_000, `"${subject}" in a for await loop`);
    assert.ok(looped.closed);
  });
});
