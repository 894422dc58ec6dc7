// `Tidings`: the daemon's gRPC API as promise-returning methods with plain values.
//
//   const tidings = new Tidings({ address: '127.0.0.1:50051', apiKey });
//   const page = await tidings.listMessages(grantId, { limit: 10 });
//   for await (const event of tidings.watchEvents({ grantIds: [grantId] })) { ... }
//
// Every method rejects with a `TidingsError` subclass when the daemon refuses the call.

import * as grpc from '@grpc/grpc-js';

import {
  connectorFromProto,
  folderFromProto,
  grantFromProto,
  grantPageFromProto,
  messageFromProto,
  messagePageFromProto,
  sentFromProto,
} from './convert.js';
import { errorFromGrpc } from './errors.js';
import { Backoff, EventStream } from './events.js';
import { loadTidingsPackage } from './proto.js';
import * as req from './requests.js';

/** @import * as M from './models.js' */
/** @import { ConnectorOptions, GrantOptions, GrantFilters, MessageFilters } from './requests.js' */

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BACKOFF_MS = 5_000;
// Event batches carry whole messages; gRPC's default 4 MiB receive limit is too small.
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/**
 * @typedef {object} TidingsOptions
 * @property {string} address host:port of the daemon's gRPC server
 * @property {string} apiKey sent as `authorization: Bearer <key>` on every call
 * @property {boolean | grpc.ChannelCredentials} [tls] false (default): plaintext, for a
 *   daemon on loopback; true: TLS with the system's CAs; or credentials such as
 *   `grpc.credentials.createSsl(caPem)`
 * @property {string} [protoDir] directory holding tidings/v1/*.proto; default: the
 *   repository's proto/ beside clients/
 * @property {number} [timeoutMs] deadline of every unary call (event streams have none)
 * @property {number} [maxBackoffMs] the longest wait between reconnection attempts
 */

/**
 * @typedef {object} WatchOptions
 * @property {string} [cursor] resume after this cursor (an event's, a stream's, or
 *   getCursor(time)); unset: only events after the call
 * @property {string[]} [grantIds] only events of these grants; empty: all
 * @property {string[]} [types] only these event types, e.g. "message.created"
 * @property {AbortSignal} [signal] aborting it ends the iteration
 */

/** @typedef {(request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply: any) => void) => grpc.ClientUnaryCall} UnaryMethod */

/**
 * Channel settings: gRPC's own reconnect backoff (up to 120 s by default) capped like
 * ours, so a restarted daemon is found again within maxBackoffMs.
 * @param {number} maxBackoffMs
 * @returns {grpc.ChannelOptions}
 */
function channelOptions(maxBackoffMs) {
  const cap = Math.max(100, Math.floor(maxBackoffMs));
  return {
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.initial_reconnect_backoff_ms': Math.min(100, cap),
    'grpc.max_reconnect_backoff_ms': cap,
  };
}

/**
 * @param {boolean | grpc.ChannelCredentials} tls
 * @returns {grpc.ChannelCredentials}
 */
function channelCredentials(tls) {
  if (tls === false) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  return tls;
}

/** A connection to a Tidings daemon; one per process is enough. */
export class Tidings {
  #apiKey;
  #channel;
  /** @type {Record<string, grpc.Client & Record<string, any>>} */
  #stubs;
  /** @type {Set<EventStream>} */
  #streams = new Set();

  /** @param {TidingsOptions} options */
  constructor({ address, apiKey, tls = false, protoDir, timeoutMs = DEFAULT_TIMEOUT_MS,
    maxBackoffMs = DEFAULT_MAX_BACKOFF_MS }) {
    if (typeof address !== 'string' || address === '') throw new TypeError('address is required, e.g. "127.0.0.1:50051"');
    if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('apiKey is required');
    this.address = address;
    this.timeoutMs = timeoutMs;
    this.maxBackoffMs = maxBackoffMs;
    this.#apiKey = apiKey;
    const v1 = loadTidingsPackage(protoDir);
    const credentials = channelCredentials(tls);
    this.#channel = new grpc.Channel(address, credentials, channelOptions(maxBackoffMs));
    /** @param {string} name */
    const stub = (name) => new v1[name](address, credentials, { channelOverride: this.#channel });
    this.#stubs = {
      connectors: stub('ConnectorService'),
      grants: stub('GrantService'),
      events: stub('EventService'),
      folders: stub('FolderService'),
      messages: stub('MessageService'),
      send: stub('SendService'),
    };
  }

  /** @returns {grpc.Metadata} */
  #metadata() {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.#apiKey}`);
    return metadata;
  }

  /**
   * One unary call with the API key and the deadline; the reply converted, a failure
   * turned into a TidingsError.
   * @template R
   * @param {string} service
   * @param {string} method
   * @param {Record<string, unknown>} request
   * @param {(reply: any) => R} convert
   * @returns {Promise<R>}
   */
  #call(service, method, request, convert) {
    const stub = this.#stubs[service];
    return new Promise((resolve, reject) => {
      const call = /** @type {UnaryMethod} */ (stub[method]).bind(stub);
      call(request, this.#metadata(), { deadline: Date.now() + this.timeoutMs }, (error, reply) => {
        if (error) {
          reject(errorFromGrpc(error));
          return;
        }
        try {
          resolve(convert(reply));
        } catch (failure) {
          reject(failure);
        }
      });
    });
  }

  /** Ends every event stream of this client, then closes the connection. */
  close() {
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
    this.#channel.close();
  }

  // Connectors

  /**
   * @param {string} name
   * @param {ConnectorOptions} [settings]
   * @returns {Promise<M.Connector>}
   */
  createConnector(name, settings = {}) {
    return this.#call('connectors', 'CreateConnector',
      { provider: 'PROVIDER_IMAP', name, settings: req.connectorSettings(settings) }, connectorFromProto);
  }

  /**
   * @param {string} id
   * @returns {Promise<M.Connector>}
   */
  getConnector(id) {
    return this.#call('connectors', 'GetConnector', { id }, connectorFromProto);
  }

  /** @returns {Promise<M.Connector[]>} every connector, oldest first */
  listConnectors() {
    return this.#call('connectors', 'ListConnectors', {},
      (reply) => reply.connectors.map(connectorFromProto));
  }

  /**
   * Rejects with FailedPrecondition while grants still use the connector.
   * @param {string} id
   * @returns {Promise<void>}
   */
  deleteConnector(id) {
    return this.#call('connectors', 'DeleteConnector', { id }, () => undefined);
  }

  // Grants

  /**
   * Custom auth: the daemon checks the credentials on both servers before it stores
   * them (FailedPrecondition with the server's reason when refused), then starts syncing.
   * @param {GrantOptions} options
   * @returns {Promise<M.Grant>}
   */
  createGrant(options) {
    return this.#call('grants', 'CreateGrant', req.createGrantRequest(options), grantFromProto);
  }

  /**
   * The grant with its sync state and initial-sync progress; NotFound when unknown.
   * @param {string} id
   * @returns {Promise<M.Grant>}
   */
  getGrant(id) {
    return this.#call('grants', 'GetGrant', { id }, grantFromProto);
  }

  /**
   * One page (limit 0 or unset: 50) of the matching grants, oldest first.
   * @param {GrantFilters} [filters]
   * @returns {Promise<M.GrantPage>}
   */
  listGrants(filters = {}) {
    return this.#call('grants', 'ListGrants', req.listGrantsRequest(filters), grantPageFromProto);
  }

  /**
   * Stops syncing and deletes the grant with everything stored for it.
   * @param {string} id
   * @returns {Promise<void>}
   */
  deleteGrant(id) {
    return this.#call('grants', 'DeleteGrant', { id }, () => undefined);
  }

  // Events

  /**
   * The cursor just before the first event at or after `time` (a Date or Unix
   * seconds); without a time, the end of the log.
   * @param {Date | number} [time]
   * @returns {Promise<string>}
   */
  getCursor(time) {
    return this.#call('events', 'GetCursor', req.cursorRequest(time), (reply) => String(reply.cursor));
  }

  /**
   * Every event after `cursor`, then live ones, until closed. Reconnects on its own
   * when the connection drops or the daemon restarts, and resumes after the last event
   * it handed out: nothing is missed or repeated.
   * @param {WatchOptions} [options]
   * @returns {EventStream}
   */
  watchEvents({ cursor, grantIds = [], types = [], signal } = {}) {
    const stream = new EventStream({
      subscribe: (request) => this.#stubs.events.Subscribe(request, this.#metadata()),
      endCursor: () => this.getCursor(),
    }, {
      cursor: cursor ?? null,
      grantIds,
      types,
      signal,
      backoff: new Backoff({ maximumMs: this.maxBackoffMs }),
    });
    this.#streams.add(stream);
    return stream;
  }

  // Folders and messages

  /**
   * @param {string} grantId
   * @param {{parentId?: string}} [options] only the children of this folder
   * @returns {Promise<M.Folder[]>} in server order
   */
  listFolders(grantId, { parentId } = {}) {
    return this.#call('folders', 'ListFolders', req.defined({ grant_id: grantId, parent_id: parentId }),
      (reply) => reply.folders.map(folderFromProto));
  }

  /**
   * One page of messages, newest first; pass `nextCursor` as `pageToken` for the next.
   * @param {string} grantId
   * @param {MessageFilters} [filters]
   * @returns {Promise<M.MessagePage>}
   */
  listMessages(grantId, filters = {}) {
    return this.#call('messages', 'ListMessages', req.listMessagesRequest(grantId, filters),
      messagePageFromProto);
  }

  /**
   * @param {string} grantId
   * @param {string} id
   * @param {{includeHeaders?: boolean, includeRaw?: boolean}} [options]
   * @returns {Promise<M.Message>}
   */
  getMessage(grantId, id, { includeHeaders = false, includeRaw = false } = {}) {
    return this.#call('messages', 'GetMessage',
      { grant_id: grantId, id, include_headers: includeHeaders, include_raw: includeRaw },
      messageFromProto);
  }

  // Sending

  /**
   * Sends one message through the grant's SMTP server. A repeated send with the same
   * idempotencyKey within an hour returns the first response instead of sending again.
   * @param {string} grantId
   * @param {M.OutgoingMessage} message
   * @param {{idempotencyKey?: string}} [options]
   * @returns {Promise<M.SentMessage>}
   */
  sendMessage(grantId, message, { idempotencyKey } = {}) {
    return this.#call('send', 'SendMessage', req.defined({
      grant_id: grantId,
      message: req.outgoingMessage(message),
      idempotency_key: idempotencyKey,
    }), sentFromProto);
  }
}

