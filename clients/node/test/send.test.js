// sendMessage through the daemon: SMTP to the stack's submission server, which hands
// the message to Dovecot, where the daemon syncs it into the recipient's INBOX.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { client, nextMatching, skip, stack, uniqueSubject } from '../testing/stack.js';

/** @import { Tidings } from '../src/index.js' */
/** @import * as M from '../src/models.js' */

describe('sendMessage', { skip }, () => {
  /** @type {Tidings} */
  let tidings;

  before(() => {
    tidings = client();
  });
  after(() => tidings.close());

  test('delivers mail, and a repeated idempotency key replays the first response', async () => {
    const folders = await tidings.listFolders(stack.mailGrantId);
    const inbox = folders.find((f) => f.role === 'inbox');
    assert.ok(inbox, 'no inbox folder');
    const subject = uniqueSubject('sent from node');
    const cursor = await tidings.getCursor();
    const stream = tidings.watchEvents({ cursor, grantIds: [stack.mailGrantId] });
    try {
      const message = { to: [{ email: stack.mailEmail, name: 'Myself' }], subject, body: 'sent by the node client', isPlaintext: true };
      const idempotencyKey = randomUUID();
      const sent = await tidings.sendMessage(stack.mailGrantId, message, { idempotencyKey });
      assert.equal(sent.idempotentReplay, false);
      assert.ok(sent.message, 'the response carries the sent message');
      assert.equal(sent.message.subject, subject);
      assert.deepEqual(sent.message.to.map((a) => a.email), [stack.mailEmail]);

      const again = await tidings.sendMessage(stack.mailGrantId, message, { idempotencyKey });
      assert.equal(again.idempotentReplay, true);
      assert.equal(again.message?.id, sent.message.id);

      // Sent to itself: the daemon syncs the delivered copy into the INBOX.
      const inInbox = (/** @type {M.Event} */ event) => event.objectKind === 'message'
        && (event.type === 'message.created' || event.type === 'message.updated')
        && /** @type {M.Message} */ (event.object).subject === subject
        && /** @type {M.Message} */ (event.object).folders.includes(inbox.id);
      await nextMatching(stream, inInbox, { what: `"${subject}" in the INBOX` });
      const listed = await tidings.listMessages(stack.mailGrantId, { folderId: inbox.id, subject });
      assert.equal(listed.messages.length, 1, 'the idempotent replay sent nothing twice');
    } finally {
      stream.close();
    }
  });
});
