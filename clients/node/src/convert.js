// Protobuf replies (as @grpc/proto-loader decodes them: snake_case fields, enums as
// their names, int64 as numbers) into the frozen values of models.js.

/** @import * as M from './models.js' */

/** @typedef {Record<string, any>} Proto a decoded protobuf message */

/**
 * Unix seconds (the API's timestamps) as a Date.
 * @param {number} seconds
 * @returns {Date}
 */
export function timestamp(seconds) {
  return new Date(Number(seconds) * 1000);
}

/**
 * The lower-case suffix of an enum value name: ("SYNC_STATE_INITIAL_SYNC", "SYNC_STATE_")
 * → "initial_sync".
 * @param {string} value
 * @param {string} prefix
 * @returns {string}
 */
function enumName(value, prefix) {
  return String(value).startsWith(prefix) ? value.slice(prefix.length).toLowerCase() : 'unspecified';
}

/**
 * @template T
 * @param {T} value
 * @returns {Readonly<T>}
 */
const freeze = (value) => Object.freeze(value);

/**
 * @template T
 * @param {Proto[]} list
 * @param {(proto: Proto) => T} convert
 * @returns {readonly T[]}
 */
function frozenList(list, convert) {
  return Object.freeze(list.map((item) => convert(item)));
}

/**
 * @param {Proto[] | undefined} list
 * @returns {readonly M.EmailAddress[]}
 */
function addresses(list) {
  return freeze((list ?? []).map((a) => freeze({ email: a.email, name: a.name })));
}

/**
 * @param {Proto} reply
 * @returns {M.Connector}
 */
export function connectorFromProto(reply) {
  const s = reply.settings ?? {};
  return freeze({
    id: reply.id,
    name: reply.name,
    provider: enumName(reply.provider, 'PROVIDER_'),
    settings: freeze({
      syncWindowDays: s.sync_window_days ?? 0,
      strictMessageId: s.strict_message_id ?? false,
      pollIntervalSeconds: s.poll_interval_seconds ?? 0,
      allowedRedirectUris: freeze([...(s.allowed_redirect_uris ?? [])]),
    }),
    createdAt: timestamp(reply.created_at),
    updatedAt: timestamp(reply.updated_at),
  });
}

/**
 * @param {Proto | undefined} settings
 * @returns {M.ServerSettings}
 */
function serverSettings(settings) {
  const s = settings ?? {};
  const security = enumName(s.security ?? '', 'SECURITY_MODE_');
  return freeze({
    host: s.host ?? '',
    port: s.port ?? 0,
    security: security === 'unspecified' ? null : /** @type {M.Security} */ (security),
    username: s.username ?? '',
  });
}

/**
 * @param {Proto} reply
 * @returns {M.Grant}
 */
export function grantFromProto(reply) {
  const p = reply.sync_progress ?? {};
  return freeze({
    id: reply.id,
    connectorId: reply.connector_id,
    provider: enumName(reply.provider, 'PROVIDER_'),
    providerType: reply.provider_type,
    email: reply.email,
    name: reply.name,
    grantStatus: /** @type {M.GrantStatus} */ (enumName(reply.grant_status, 'GRANT_STATUS_')),
    state: reply.state,
    imap: serverSettings(reply.imap),
    smtp: serverSettings(reply.smtp),
    allowPlaintext: reply.allow_plaintext,
    syncWindowDays: reply.sync_window_days,
    syncState: /** @type {M.SyncState} */ (enumName(reply.sync_state, 'SYNC_STATE_')),
    syncStateReason: reply.sync_state_reason,
    syncProgress: freeze({
      foldersDone: p.folders_done ?? 0,
      foldersTotal: p.folders_total ?? 0,
      messagesDone: p.messages_done ?? 0,
      messagesTotal: p.messages_total ?? 0,
    }),
    createdAt: timestamp(reply.created_at),
    updatedAt: timestamp(reply.updated_at),
  });
}

/**
 * @param {Proto} reply
 * @returns {M.GrantPage}
 */
export function grantPageFromProto(reply) {
  return freeze({ grants: frozenList(reply.grants, grantFromProto), total: reply.total });
}

/**
 * @param {Proto} a
 * @returns {M.Attachment}
 */
function attachmentFromProto(a) {
  return freeze({
    id: a.id,
    grantId: a.grant_id,
    messageId: a.message_id,
    filename: a.filename,
    contentType: a.content_type,
    size: a.size,
    contentId: a.content_id,
    contentDisposition: a.content_disposition,
    isInline: a.is_inline,
  });
}

/**
 * @param {Proto} m
 * @returns {M.Message}
 */
export function messageFromProto(m) {
  return freeze({
    id: m.id,
    grantId: m.grant_id,
    threadId: m.thread_id,
    subject: m.subject,
    from: addresses(m.from_),
    to: addresses(m.to),
    cc: addresses(m.cc),
    bcc: addresses(m.bcc),
    replyTo: addresses(m.reply_to),
    date: timestamp(m.date),
    unread: m.unread,
    starred: m.starred,
    snippet: m.snippet,
    body: m.body,
    folders: freeze([...m.folders]),
    attachments: frozenList(m.attachments, attachmentFromProto),
    syntheticId: m.synthetic_id,
    messageIdHeader: m.message_id_header,
    decodingWarnings: freeze([...m.decoding_warnings]),
    headers: frozenList(m.headers, (h) => freeze(/** @type {[string, string]} */ ([h.name, h.value]))),
    // An `optional` field: present only when the call asked for it.
    rawMime: m.raw_mime === undefined ? null : Buffer.from(m.raw_mime),
  });
}

/**
 * @param {Proto} reply
 * @returns {M.MessagePage}
 */
export function messagePageFromProto(reply) {
  return freeze({ messages: frozenList(reply.messages, messageFromProto), nextCursor: reply.next_cursor });
}

/**
 * @param {Proto} f
 * @returns {M.Folder}
 */
export function folderFromProto(f) {
  const role = enumName(f.role, 'FOLDER_ROLE_');
  return freeze({
    id: f.id,
    grantId: f.grant_id,
    name: f.name,
    path: f.path,
    parentId: f.parent_id ?? null,
    role: /** @type {M.FolderRole} */ (role === 'unspecified' ? 'none' : role),
    attributes: freeze([...f.attributes]),
    totalCount: f.total_count,
    unreadCount: f.unread_count,
    childCount: f.child_count,
  });
}

/**
 * @param {Proto} t
 * @returns {M.Thread}
 */
export function threadFromProto(t) {
  return freeze({
    id: t.id,
    grantId: t.grant_id,
    subject: t.subject,
    snippet: t.snippet,
    participants: addresses(t.participants),
    messageIds: freeze([...t.message_ids]),
    draftIds: freeze([...t.draft_ids]),
    folders: freeze([...t.folders]),
    hasAttachments: t.has_attachments,
    hasDrafts: t.has_drafts,
    unread: t.unread,
    starred: t.starred,
    earliestMessageDate: timestamp(t.earliest_message_date),
    latestMessageReceivedDate: t.latest_message_received_date === undefined
      ? null : timestamp(t.latest_message_received_date),
    latestMessageSentDate: t.latest_message_sent_date === undefined
      ? null : timestamp(t.latest_message_sent_date),
    latestMessage: t.latest_message ? messageFromProto(t.latest_message) : null,
  });
}

/** @type {Readonly<Record<string, (proto: Proto) => M.Message | M.Folder | M.Grant | M.Thread>>} */
const EVENT_OBJECTS = freeze({
  message: messageFromProto,
  folder: folderFromProto,
  grant: grantFromProto,
  thread: threadFromProto,
});

/**
 * @param {Proto} e
 * @returns {M.Event}
 */
export function eventFromProto(e) {
  // `object` names the oneof case that is set; a case this client does not know (a
  // newer daemon) reads as no object, as the proto comment promises old clients.
  const kind = typeof e.object === 'string' && e.object in EVENT_OBJECTS ? e.object : null;
  return freeze({
    cursor: e.cursor,
    id: e.id,
    type: e.type,
    grantId: e.grant_id,
    objectId: e.object_id,
    createdAt: timestamp(e.created_at),
    object: kind === null ? null : EVENT_OBJECTS[kind](e[kind]),
    objectKind: /** @type {M.Event['objectKind']} */ (kind),
    truncated: e.truncated,
  });
}

/**
 * @param {Proto} reply
 * @returns {M.SentMessage}
 */
export function sentFromProto(reply) {
  return freeze({
    message: reply.message ? messageFromProto(reply.message) : null,
    idempotentReplay: reply.idempotent_replay,
  });
}
