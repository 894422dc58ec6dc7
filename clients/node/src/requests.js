// Request messages built from the camelCase options of the client's methods. An option
// left undefined (or null) is a field left unset: for `optional` proto fields that is
// "no filter" on lists and "default" on creation, which differs from a zero value.

/** @import * as M from './models.js' */

/** @typedef {Record<string, unknown>} Fields */

// GetCursor answers "just before the first event at or after this time"; no event has a
// time this late, so the answer is the end of the log: the cursor of the newest event.
export const END_OF_LOG = 253_402_300_799; // 9999-12-31T23:59:59Z

/**
 * The fields whose value is set.
 * @param {Fields} fields
 * @returns {Fields}
 */
export function defined(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
}

/**
 * @param {string} value
 * @param {string} prefix
 * @param {readonly string[]} allowed
 * @returns {string}
 */
function enumValue(value, prefix, allowed) {
  if (!allowed.includes(value)) {
    throw new TypeError(`expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return `${prefix}${value.toUpperCase()}`;
}

/**
 * @param {M.Security | undefined} value
 * @returns {string | undefined}
 */
function security(value) {
  return value === undefined ? undefined : enumValue(value, 'SECURITY_MODE_', ['tls', 'starttls', 'plain']);
}

/**
 * @typedef {object} ConnectorOptions
 * @property {number} [syncWindowDays] days of mail kept in sync; 90 when unset
 * @property {boolean} [strictMessageId] skip messages without a usable Message-ID
 * @property {number} [pollIntervalSeconds] between polls of folders without IDLE
 * @property {string[]} [allowedRedirectUris] for hosted auth (exact match)
 */

/**
 * @param {ConnectorOptions} options
 * @returns {Fields}
 */
export function connectorSettings(options) {
  return defined({
    sync_window_days: options.syncWindowDays,
    strict_message_id: options.strictMessageId,
    poll_interval_seconds: options.pollIntervalSeconds,
    allowed_redirect_uris: options.allowedRedirectUris ?? [],
  });
}

/**
 * @typedef {object} GrantOptions Custom auth for an IMAP/SMTP mailbox.
 * @property {string} email the mailbox address
 * @property {string} imapPassword password or app password
 * @property {string} [connectorId] empty: the only IMAP connector
 * @property {string} [providerType] preset such as "yahoo"; empty: guessed from the address
 * @property {string} [name] display name used as the From name when sending
 * @property {string} [imapHost]
 * @property {number} [imapPort]
 * @property {M.Security} [imapSecurity]
 * @property {string} [imapUsername] empty: the email address
 * @property {string} [smtpHost]
 * @property {number} [smtpPort]
 * @property {M.Security} [smtpSecurity]
 * @property {string} [smtpUsername] empty: the IMAP login
 * @property {string} [smtpPassword] empty: the IMAP password
 * @property {boolean} [allowPlaintext] required for 'plain' security on either side
 * @property {number} [syncWindowDays] unset: the connector's
 * @property {string} [state] opaque string returned on the grant (at most 256 characters)
 */

/**
 * @param {GrantOptions} options
 * @returns {Fields}
 */
export function createGrantRequest(options) {
  return defined({
    connector_id: options.connectorId,
    email: options.email,
    name: options.name,
    provider_type: options.providerType,
    imap_host: options.imapHost,
    imap_port: options.imapPort,
    imap_security: security(options.imapSecurity),
    imap_username: options.imapUsername,
    imap_password: options.imapPassword,
    smtp_host: options.smtpHost,
    smtp_port: options.smtpPort,
    smtp_security: security(options.smtpSecurity),
    smtp_username: options.smtpUsername,
    smtp_password: options.smtpPassword,
    allow_plaintext: options.allowPlaintext,
    sync_window_days: options.syncWindowDays,
    state: options.state,
  });
}

/**
 * @typedef {object} GrantFilters
 * @property {number} [limit] page size; 0 or unset: 50
 * @property {number} [offset] grants to skip
 * @property {string} [email]
 * @property {'valid' | 'invalid'} [grantStatus]
 * @property {string} [providerType]
 * @property {string} [connectorId]
 */

/**
 * @param {GrantFilters} filters
 * @returns {Fields}
 */
export function listGrantsRequest(filters) {
  return defined({
    limit: filters.limit,
    offset: filters.offset,
    email: filters.email,
    grant_status: filters.grantStatus === undefined
      ? undefined : enumValue(filters.grantStatus, 'GRANT_STATUS_', ['valid', 'invalid']),
    provider_type: filters.providerType,
    connector_id: filters.connectorId,
  });
}

/**
 * @param {Date | number} time
 * @returns {number}
 */
function unixSeconds(time) {
  return Math.floor(time instanceof Date ? time.getTime() / 1000 : time);
}

/**
 * @typedef {object} MessageFilters Filters of listMessages; unset ones do not filter.
 * @property {number} [limit] page size; 0 or unset: 50, at most 200
 * @property {string} [pageToken] nextCursor of the previous page
 * @property {string} [folderId] only messages in this folder (Nylas `in`)
 * @property {string} [subject] subject contains this text (case-insensitive)
 * @property {string[]} [anyEmail] any of from/to/cc/bcc is one of these (at most 25)
 * @property {string[]} [from]
 * @property {string[]} [to]
 * @property {string[]} [cc]
 * @property {string[]} [bcc]
 * @property {boolean} [unread]
 * @property {boolean} [starred]
 * @property {boolean} [hasAttachment]
 * @property {Date | number} [receivedBefore] exclusive; a Date or Unix seconds
 * @property {Date | number} [receivedAfter] exclusive; a Date or Unix seconds
 * @property {string} [threadId]
 * @property {string} [searchQueryNative] an IMAP SEARCH expression (RFC 9051 §6.4.4)
 */

/**
 * @param {string} grantId
 * @param {MessageFilters} filters
 * @returns {Fields}
 */
export function listMessagesRequest(grantId, filters) {
  return defined({
    grant_id: grantId,
    limit: filters.limit,
    page_token: filters.pageToken,
    in_: filters.folderId,
    subject: filters.subject,
    any_email: filters.anyEmail,
    from_: filters.from,
    to: filters.to,
    cc: filters.cc,
    bcc: filters.bcc,
    unread: filters.unread,
    starred: filters.starred,
    has_attachment: filters.hasAttachment,
    received_before: filters.receivedBefore === undefined ? undefined : unixSeconds(filters.receivedBefore),
    received_after: filters.receivedAfter === undefined ? undefined : unixSeconds(filters.receivedAfter),
    thread_id: filters.threadId,
    search_query_native: filters.searchQueryNative,
  });
}

/**
 * @param {M.AddressInput} address
 * @returns {{email: string, name: string}}
 */
function address(address) {
  return typeof address === 'string' ? { email: address, name: '' } : { email: address.email, name: address.name ?? '' };
}

/**
 * @param {M.OutgoingMessage} message
 * @returns {Fields}
 */
export function outgoingMessage(message) {
  const headers = Object.entries(message.customHeaders ?? {}).map(([name, value]) => ({ name, value }));
  return defined({
    to: (message.to ?? []).map(address),
    cc: (message.cc ?? []).map(address),
    bcc: (message.bcc ?? []).map(address),
    reply_to: (message.replyTo ?? []).map(address),
    from_: message.from === undefined ? undefined : address(message.from),
    subject: message.subject,
    body: message.body,
    is_plaintext: message.isPlaintext,
    reply_to_message_id: message.replyToMessageId,
    custom_headers: headers,
    attachments: (message.attachments ?? []).map((a) => defined({
      filename: a.filename,
      content_type: a.contentType,
      content: typeof a.content === 'string' ? Buffer.from(a.content, 'utf8') : Buffer.from(a.content),
      content_id: a.contentId,
      is_inline: a.isInline,
    })),
  });
}

/**
 * @param {Date | number | undefined} time
 * @returns {Fields}
 */
export function cursorRequest(time) {
  return { time: time === undefined ? END_OF_LOG : unixSeconds(time) };
}

/**
 * @param {string} cursor
 * @param {readonly string[]} grantIds
 * @param {readonly string[]} types
 * @returns {Fields}
 */
export function subscribeRequest(cursor, grantIds, types) {
  return { cursor, grant_ids: [...grantIds], types: [...types] };
}
