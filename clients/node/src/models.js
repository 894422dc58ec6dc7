// The values the client returns: plain frozen objects with camelCase fields, dates as
// `Date`, enums as lower-case strings. Protobuf shapes stay inside convert.js and
// requests.js, as protobuf types stay inside api/ in the daemon.

/** @typedef {'tls' | 'starttls' | 'plain'} Security How a connection to the mail server is secured. */
/** @typedef {'unspecified' | 'valid' | 'invalid'} GrantStatus Whether the grant's credentials work. */
/**
 * @typedef {'unspecified' | 'pending' | 'initial_sync' | 'running' | 'degraded' | 'backoff' | 'stopped'} SyncState
 * What the grant's sync is doing.
 */
/**
 * @typedef {'none' | 'inbox' | 'sent' | 'drafts' | 'trash' | 'junk' | 'archive' | 'all' | 'flagged' | 'important'} FolderRole
 * Special use of a folder (RFC 6154 §2, plus the inbox); 'none' for ordinary ones.
 */

/**
 * @typedef {object} ConnectorSettings
 * @property {number} syncWindowDays
 * @property {boolean} strictMessageId
 * @property {number} pollIntervalSeconds
 * @property {readonly string[]} allowedRedirectUris
 */

/**
 * @typedef {object} Connector
 * @property {string} id
 * @property {string} name
 * @property {string} provider "imap"
 * @property {ConnectorSettings} settings
 * @property {Date} createdAt
 * @property {Date} updatedAt
 */

/**
 * @typedef {object} ServerSettings
 * @property {string} host
 * @property {number} port
 * @property {Security | null} security null when the daemon reports none
 * @property {string} username
 */

/**
 * @typedef {object} SyncProgress Initial-sync progress; all zero once it has ended.
 * @property {number} foldersDone
 * @property {number} foldersTotal
 * @property {number} messagesDone
 * @property {number} messagesTotal
 */

/**
 * @typedef {object} Grant A connected mailbox. Passwords are write-only.
 * @property {string} id
 * @property {string} connectorId
 * @property {string} provider
 * @property {string} providerType
 * @property {string} email
 * @property {string} name
 * @property {GrantStatus} grantStatus
 * @property {string} state the caller's opaque string given at creation
 * @property {ServerSettings} imap
 * @property {ServerSettings} smtp
 * @property {boolean} allowPlaintext
 * @property {number} syncWindowDays
 * @property {SyncState} syncState
 * @property {string} syncStateReason
 * @property {SyncProgress} syncProgress
 * @property {Date} createdAt
 * @property {Date} updatedAt
 */

/**
 * @typedef {object} GrantPage
 * @property {readonly Grant[]} grants
 * @property {number} total grants matching the filters in all, not just this page
 */

/**
 * @typedef {object} EmailAddress
 * @property {string} email
 * @property {string} name empty when the header has none
 */

/**
 * @typedef {object} Attachment
 * @property {string} id
 * @property {string} grantId
 * @property {string} messageId
 * @property {string} filename
 * @property {string} contentType
 * @property {number} size
 * @property {string} contentId
 * @property {string} contentDisposition
 * @property {boolean} isInline
 */

/**
 * @typedef {object} Message
 * @property {string} id
 * @property {string} grantId
 * @property {string} threadId
 * @property {string} subject
 * @property {readonly EmailAddress[]} from
 * @property {readonly EmailAddress[]} to
 * @property {readonly EmailAddress[]} cc
 * @property {readonly EmailAddress[]} bcc
 * @property {readonly EmailAddress[]} replyTo
 * @property {Date} date when the server received it (INTERNALDATE), not the Date header
 * @property {boolean} unread
 * @property {boolean} starred
 * @property {string} snippet
 * @property {string} body HTML
 * @property {readonly string[]} folders folder ids
 * @property {readonly Attachment[]} attachments
 * @property {boolean} syntheticId
 * @property {string} messageIdHeader
 * @property {readonly string[]} decodingWarnings
 * @property {readonly (readonly [string, string])[]} headers only with includeHeaders
 * @property {Buffer | null} rawMime only with includeRaw
 */

/**
 * @typedef {object} MessagePage
 * @property {readonly Message[]} messages newest first
 * @property {string} nextCursor pass as pageToken for the next page; empty on the last page
 */

/**
 * @typedef {object} Folder
 * @property {string} id
 * @property {string} grantId
 * @property {string} name
 * @property {string} path
 * @property {string | null} parentId
 * @property {FolderRole} role
 * @property {readonly string[]} attributes
 * @property {number} totalCount
 * @property {number} unreadCount
 * @property {number} childCount
 */

/**
 * @typedef {object} Thread
 * @property {string} id
 * @property {string} grantId
 * @property {string} subject
 * @property {string} snippet
 * @property {readonly EmailAddress[]} participants
 * @property {readonly string[]} messageIds
 * @property {readonly string[]} draftIds
 * @property {readonly string[]} folders
 * @property {boolean} hasAttachments
 * @property {boolean} hasDrafts
 * @property {boolean} unread
 * @property {boolean} starred
 * @property {Date} earliestMessageDate
 * @property {Date | null} latestMessageReceivedDate
 * @property {Date | null} latestMessageSentDate
 * @property {Message | null} latestMessage
 */

/**
 * @typedef {object} Event One change from the daemon's durable log.
 * @property {string} cursor resume after this event: watchEvents({cursor: event.cursor})
 * @property {string} id unique, for de-duplication
 * @property {string} type Nylas v3 name: message.created, folder.deleted, grant.imap_sync_completed...
 * @property {string} grantId
 * @property {string} objectId
 * @property {Date} createdAt
 * @property {Message | Folder | Grant | Thread | null} object the object after the change; null for deletions
 * @property {'message' | 'folder' | 'grant' | 'thread' | null} objectKind which kind `object` is
 * @property {boolean} truncated the message came without its body (fetch it with getMessage)
 */

/**
 * @typedef {object} SentMessage
 * @property {Message | null} message the sent message as stored (null if the daemon returned none)
 * @property {boolean} idempotentReplay true when replayed for a repeated idempotency key
 */

/** @typedef {string | {email: string, name?: string}} AddressInput "ann@example.org" or {email, name} */

/**
 * @typedef {object} OutgoingAttachment
 * @property {string} filename
 * @property {Uint8Array | string} content bytes, or a string sent as UTF-8
 * @property {string} [contentType] empty: guessed from the file name
 * @property {string} [contentId] for inline parts referenced as cid: in the HTML body
 * @property {boolean} [isInline]
 */

/**
 * @typedef {object} OutgoingMessage
 * @property {AddressInput[]} [to] at least one of to, cc or bcc is required to send
 * @property {AddressInput[]} [cc]
 * @property {AddressInput[]} [bcc]
 * @property {AddressInput[]} [replyTo]
 * @property {AddressInput} [from] default: the grant's address and name
 * @property {string} [subject]
 * @property {string} [body] HTML unless isPlaintext
 * @property {boolean} [isPlaintext]
 * @property {string} [replyToMessageId] sets In-Reply-To and References (RFC 5322 §3.6.4)
 * @property {Record<string, string>} [customHeaders] names must start with "X-" or be List-*
 * @property {OutgoingAttachment[]} [attachments]
 */

export {};
