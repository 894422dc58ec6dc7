// Reading connectors, grants, folders and messages from a real daemon, compared with
// what the daemon reported to the Python client for the same quiet grant.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { client, skip, stack } from '../testing/stack.js';

/** @import { Tidings } from '../src/index.js' */
/** @import { Expected } from '../testing/stack.js' */
/** @import * as M from '../src/models.js' */

describe('reading from the daemon', { skip }, () => {
  /** @type {Tidings} */
  let tidings;
  /** @type {Expected} */
  let expected;

  before(() => {
    tidings = client();
    expected = stack.expected();
  });
  after(() => tidings.close());

  test('listConnectors returns the connector the stack created', async () => {
    const connectors = await tidings.listConnectors();
    const connector = connectors.find((c) => c.id === expected.connectorId);
    assert.ok(connector, `connector ${expected.connectorId} not in ${JSON.stringify(connectors)}`);
    assert.equal(connector.name, 'node client');
    assert.equal(connector.provider, 'imap');
    assert.ok(connector.createdAt instanceof Date && connector.createdAt.getTime() > 0);
    assert.ok(Object.isFrozen(connector));
    assert.deepEqual(await tidings.getConnector(connector.id), connector);
  });

  test('createConnector returns the settings it was given', async () => {
    const created = await tidings.createConnector('created from node', { syncWindowDays: 30, pollIntervalSeconds: 120 });
    assert.equal(created.name, 'created from node');
    assert.equal(created.settings.syncWindowDays, 30);
    assert.equal(created.settings.pollIntervalSeconds, 120);
    assert.ok((await tidings.listConnectors()).some((c) => c.id === created.id));
    await tidings.deleteConnector(created.id);
    assert.ok(!(await tidings.listConnectors()).some((c) => c.id === created.id));
  });

  test('listGrants and getGrant report both grants of the stack', async () => {
    const page = await tidings.listGrants();
    assert.equal(page.total, expected.grantIds.length);
    assert.deepEqual(page.grants.map((g) => g.id).sort(), [...expected.grantIds].sort());

    const filtered = await tidings.listGrants({ email: expected.grant.email });
    assert.deepEqual(filtered.grants.map((g) => g.id), [expected.grant.id]);
    assert.equal(filtered.total, 1);

    const grant = await tidings.getGrant(expected.grant.id);
    assert.equal(grant.email, expected.grant.email);
    assert.equal(grant.connectorId, expected.grant.connectorId);
    assert.deepEqual([grant.imap.host, grant.imap.port, grant.imap.security],
      [expected.grant.imapHost, expected.grant.imapPort, expected.grant.imapSecurity]);
    assert.equal(grant.createdAt.getTime(), expected.grant.createdAt * 1000);
    assert.equal(grant.grantStatus, 'valid');
    assert.equal(grant.syncState, 'running');
  });

  test('listMessages returns what the daemon reports, newest first', async () => {
    const page = await tidings.listMessages(stack.grantId, { limit: 200 });
    assert.equal(page.nextCursor, '');
    assert.deepEqual(page.messages.map(comparable), expected.messages);
    const dates = page.messages.map((m) => m.date.getTime());
    assert.deepEqual(dates, [...dates].sort((a, b) => b - a));
  });

  test('listMessages pages with nextCursor and filters by subject and folder', async () => {
    const first = await tidings.listMessages(stack.grantId, { limit: 2 });
    assert.equal(first.messages.length, 2);
    assert.notEqual(first.nextCursor, '');
    const second = await tidings.listMessages(stack.grantId, { limit: 2, pageToken: first.nextCursor });
    assert.equal(second.nextCursor, '');
    assert.deepEqual([...first.messages, ...second.messages].map((m) => m.id),
      expected.messages.map((m) => m.id));

    const inbox = expected.folders.find((f) => f.role === 'inbox');
    assert.ok(inbox, 'no inbox folder');
    const filtered = await tidings.listMessages(stack.grantId, { folderId: inbox.id, subject: 'SEEDED 1' });
    assert.deepEqual(filtered.messages.map((m) => m.subject), ['seeded 1']);
  });

  test('getMessage returns the listed message, with headers and raw MIME on request', async () => {
    const [newest] = expected.messages;
    const message = await tidings.getMessage(stack.grantId, newest.id);
    assert.deepEqual(comparable(message), newest);
    assert.match(message.body, /seeded body 0/);
    assert.deepEqual(message.headers, []);
    assert.equal(message.rawMime, null);

    const full = await tidings.getMessage(stack.grantId, newest.id, { includeHeaders: true, includeRaw: true });
    assert.ok(full.headers.some(([name, value]) => name.toLowerCase() === 'subject' && value === newest.subject));
    assert.ok(Buffer.isBuffer(full.rawMime));
    assert.match(full.rawMime.toString('latin1'), /^Message-ID: <seeded0@node\.test>/im);
  });

  test('listFolders returns what the daemon reports', async () => {
    const folders = await tidings.listFolders(stack.grantId);
    assert.deepEqual(folders.map((f) => ({
      id: f.id, name: f.name, path: f.path, role: f.role, parentId: f.parentId,
      totalCount: f.totalCount, unreadCount: f.unreadCount,
    })), expected.folders);
  });
});

/**
 * The fields the Python side wrote for each message.
 * @param {M.Message} m
 */
function comparable(m) {
  return {
    id: m.id,
    threadId: m.threadId,
    subject: m.subject,
    from: m.from.map((a) => ({ email: a.email, name: a.name })),
    to: m.to.map((a) => ({ email: a.email, name: a.name })),
    date: m.date.getTime() / 1000,
    unread: m.unread,
    starred: m.starred,
    snippet: m.snippet,
    folders: [...m.folders],
    messageIdHeader: m.messageIdHeader,
    syntheticId: m.syntheticId,
  };
}
