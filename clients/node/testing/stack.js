// What the Node tests share: the test stack's variables, a client for it, delivery of
// mail over LMTP (RFC 2033) straight into Dovecot, and waits with deadlines.
//
// The stack is started by tests/clients/test_node_client.py, which sets the variables
// below; without them the tests that need a daemon are skipped with `skip` as reason.

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';

import { Tidings } from '../src/index.js';

/** @import { EventStream } from '../src/index.js' */
/** @import * as M from '../src/models.js' */

/** How long a test waits for one thing the daemon does (a synced message, an event). */
export const WAIT_MS = 60_000;

const env = process.env;

/** @returns {string | false} why the daemon tests cannot run, or false when they can */
function missing() {
  const names = ['TIDINGS_ADDRESS', 'TIDINGS_API_KEY', 'TIDINGS_GRANT_ID', 'TIDINGS_EXPECTED_FILE',
    'TIDINGS_MAIL_GRANT_ID', 'TIDINGS_MAIL_EMAIL', 'TIDINGS_MAIL_USER', 'TIDINGS_LMTP_ADDRESS'];
  const absent = names.filter((name) => !env[name]);
  return absent.length === 0 ? false
    : `no test stack (${absent.join(', ')} unset): run pytest tests/clients/test_node_client.py`;
}

/** Reason to skip daemon tests, for `test(name, { skip }, fn)`; false when the stack is there. */
export const skip = missing();

/** @param {string} name @returns {string} */
const required = (name) => env[name] ?? '';

/**
 * @typedef {object} Expected What the daemon reported for the quiet grant, read by the
 *   Python client before the Node tests started.
 * @property {string} connectorId
 * @property {{id: string, email: string, connectorId: string, imapHost: string, imapPort: number, imapSecurity: string | null, createdAt: number}} grant
 * @property {string[]} grantIds
 * @property {{id: string, threadId: string, subject: string, from: {email: string, name: string}[], to: {email: string, name: string}[], date: number, unread: boolean, starred: boolean, snippet: string, folders: string[], messageIdHeader: string, syntheticId: boolean}[]} messages
 * @property {{id: string, name: string, path: string, role: string, parentId: string | null, totalCount: number, unreadCount: number}[]} folders
 */

export const stack = {
  get address() { return required('TIDINGS_ADDRESS'); },
  get apiKey() { return required('TIDINGS_API_KEY'); },
  /** The quiet grant: seeded mail, nothing changes it. */
  get grantId() { return required('TIDINGS_GRANT_ID'); },
  /** The grant the tests deliver mail to and send from. */
  get mailGrantId() { return required('TIDINGS_MAIL_GRANT_ID'); },
  get mailEmail() { return required('TIDINGS_MAIL_EMAIL'); },
  /** @returns {Expected} */
  expected() {
    return JSON.parse(readFileSync(required('TIDINGS_EXPECTED_FILE'), 'utf8'));
  },
};

/**
 * A client for the stack's daemon.
 * @param {Partial<import('../src/client.js').TidingsOptions>} [options]
 * @returns {Tidings}
 */
export function client(options = {}) {
  return new Tidings({ address: stack.address, apiKey: stack.apiKey, ...options });
}

/**
 * Rejects when `promise` has not settled within `ms`.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string} what named in the failure
 * @returns {Promise<T>}
 */
export async function within(promise, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, /** @type {Promise<never>} */ (deadline)]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the stream until an event matches, within one deadline for the whole wait.
 * Every event read is appended to `seen` when given.
 * @param {EventStream} stream
 * @param {(event: M.Event) => boolean} predicate
 * @param {{ms?: number, what?: string, seen?: M.Event[]}} [options]
 * @returns {Promise<M.Event>}
 */
export function nextMatching(stream, predicate, { ms = WAIT_MS, what = 'matching event', seen } = {}) {
  const read = async () => {
    for (;;) {
      const step = await stream.next();
      if (step.done) throw new Error(`event stream ended while waiting for ${what}`);
      seen?.push(step.value);
      if (predicate(step.value)) return step.value;
    }
  };
  return within(read(), ms, what);
}

/**
 * @param {string} subject
 * @returns {(event: M.Event) => boolean} matches message.created of that subject
 */
export function createdWithSubject(subject) {
  return (event) => event.type === 'message.created' && event.objectKind === 'message'
    && /** @type {M.Message} */ (event.object).subject === subject;
}

/**
 * A subject no other test uses.
 * @param {string} prefix
 * @returns {string}
 */
export function uniqueSubject(prefix) {
  return `${prefix} ${randomUUID().slice(0, 8)}`;
}

/**
 * A small RFC 5322 message with CRLF line ends.
 * @param {{subject: string, to: string, from?: string, body?: string}} fields
 * @returns {string}
 */
export function rfc5322({ subject, to, from = 'Node Test <node@example.com>', body = 'hello from node' }) {
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomUUID()}@node.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/**
 * Delivers a message to the mail grant's INBOX over LMTP (RFC 2033). Resolves once
 * Dovecot has answered 250 for the recipient, i.e. the message is in the mailbox.
 * @param {string} message RFC 5322 text with CRLF line ends
 * @param {{ms?: number}} [options]
 * @returns {Promise<void>}
 */
export async function deliver(message, { ms = WAIT_MS } = {}) {
  const [host, port] = splitAddress(required('TIDINGS_LMTP_ADDRESS'));
  const socket = connect({ host, port });
  socket.setEncoding('latin1');
  const replies = replyReader(socket);
  try {
    await within(new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(undefined));
      socket.once('error', reject);
    }), ms, 'LMTP connection');
    /** @param {string | null} command @param {number} code */
    const step = async (command, code) => {
      if (command !== null) socket.write(`${command}\r\n`, 'latin1');
      const reply = await within(replies.next(), ms, `LMTP reply to ${command ?? 'greeting'}`);
      if (reply.code !== code) throw new Error(`LMTP ${command ?? 'greeting'}: ${reply.text}`);
    };
    await step(null, 220);
    await step('LHLO node.test', 250);
    await step('MAIL FROM:<node@example.com>', 250);
    await step(`RCPT TO:<${required('TIDINGS_MAIL_USER')}>`, 250);
    await step('DATA', 354);
    // Dot-stuffing (RFC 5321 §4.5.2), then the end-of-data line; LMTP answers once per
    // accepted recipient (RFC 2033 §4.2), here one.
    const body = message.replace(/^\./gm, '..');
    await step(`${body.endsWith('\r\n') ? body : `${body}\r\n`}.`, 250);
    await step('QUIT', 221);
  } finally {
    socket.destroy();
  }
}

/**
 * @param {string} address host:port
 * @returns {[string, number]}
 */
function splitAddress(address) {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/**
 * Whole SMTP-style replies from a socket: lines "250-..." continue, "250 ..." ends one
 * (RFC 5321 §4.2.1).
 * @param {import('node:net').Socket} socket
 * @returns {{next: () => Promise<{code: number, text: string}>}}
 */
function replyReader(socket) {
  let buffer = '';
  /** @type {string[]} */
  let lines = [];
  /** @type {{code: number, text: string}[]} */
  const ready = [];
  /** @type {((reply: {code: number, text: string}) => void) | null} */
  let waiting = null;
  /** @type {Error | null} */
  let failure = null;
  /** @type {((error: Error) => void) | null} */
  let fail = null;
  socket.on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      lines.push(line);
      if (line.length < 4 || line[3] !== '-') {
        const reply = { code: Number(line.slice(0, 3)), text: lines.join('\n') };
        lines = [];
        if (waiting) {
          const resolve = waiting;
          waiting = null;
          fail = null;
          resolve(reply);
        } else {
          ready.push(reply);
        }
      }
    }
  });
  const close = (/** @type {Error} */ error) => {
    failure = error;
    fail?.(error);
  };
  socket.on('error', close);
  socket.on('close', () => close(new Error('LMTP connection closed')));
  return {
    next() {
      const reply = ready.shift();
      if (reply) return Promise.resolve(reply);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting = resolve;
        fail = reject;
      });
    },
  };
}
