// Following the change stream across disconnects, without missing or repeating events.
//
// Every event carries its own cursor (its position in the daemon's durable log). The
// stream remembers the cursor of the last event it handed out; when the connection
// drops or the daemon restarts, it subscribes again from that cursor after a capped,
// jittered backoff, and the daemon replays the log from there. So the events seen are
// exactly the log, in order, once each, whatever happened to the connection between.
//
// A stream started without a cursor first asks for the end of the log, so even a drop
// before the first event loses nothing.

import { eventFromProto } from './convert.js';
import { errorFromGrpc } from './errors.js';
import { subscribeRequest } from './requests.js';

/** @import * as M from './models.js' */
/** @import { ClientReadableStream } from '@grpc/grpc-js' */

// Codes that mean "the connection or the daemon went away", not "your request is wrong":
// a daemon that shuts down cancels its open streams (CANCELLED) and is then gone
// (UNAVAILABLE); ABORTED is gRPC's "retry the whole operation".
const RECONNECT_CODES = new Set(['UNAVAILABLE', 'CANCELLED', 'ABORTED']);

/**
 * Capped exponential backoff with jitter: the n-th wait is between half and all of
 * min(initial * 2^n, maximum), so many clients cut off together do not all come back
 * in the same instant.
 */
export class Backoff {
  #attempt = 0;

  /**
   * @param {{initialMs?: number, maximumMs?: number, random?: () => number}} [options]
   */
  constructor({ initialMs = 100, maximumMs = 5000, random = Math.random } = {}) {
    this.initialMs = initialMs;
    this.maximumMs = maximumMs;
    this.random = random;
  }

  /** @returns {number} milliseconds to wait before the next attempt */
  next() {
    const ceiling = Math.min(this.initialMs * 2 ** this.#attempt, this.maximumMs);
    this.#attempt += 1;
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  reset() {
    this.#attempt = 0;
  }
}

/**
 * @typedef {object} StreamSource How an EventStream reaches the daemon.
 * @property {(request: Record<string, unknown>) => ClientReadableStream<any>} subscribe opens EventService.Subscribe
 * @property {() => Promise<string>} endCursor the cursor of the newest event (GetCursor)
 */

/**
 * The events after a cursor, forever: replayed, then live, reconnecting as needed.
 * Iterate it with `for await`; `cursor` is the cursor of the last event handed out
 * (store it to resume later). `close()`, leaving the loop, or the abort signal ends the
 * iteration. Errors other than a lost connection (a malformed or expired cursor, a
 * revoked key) are thrown from the iteration as `TidingsError`s.
 *
 * @implements {AsyncIterableIterator<M.Event>}
 */
export class EventStream {
  /** @type {string | null} */
  #cursor;
  /** @type {M.Event[]} */
  #pending = [];
  /** @type {ClientReadableStream<any> | null} */
  #call = null;
  /** @type {AsyncIterator<Record<string, any>> | null} */
  #batches = null;
  #closed = false;
  /** @type {(() => void) | null} */
  #wake = null;
  #source;
  #grantIds;
  #types;
  #backoff;

  /**
   * @param {StreamSource} source
   * @param {{cursor?: string | null, grantIds?: readonly string[], types?: readonly string[], backoff: Backoff, signal?: AbortSignal}} options
   */
  constructor(source, { cursor = null, grantIds = [], types = [], backoff, signal }) {
    this.#source = source;
    this.#cursor = cursor;
    this.#grantIds = Object.freeze([...grantIds]);
    this.#types = Object.freeze([...types]);
    this.#backoff = backoff;
    /** Times the stream lost its subscription and subscribed again. */
    this.reconnects = 0;
    if (signal?.aborted) this.close();
    signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** The cursor of the last event handed out (or the start cursor before the first). */
  get cursor() {
    return this.#cursor;
  }

  get closed() {
    return this.#closed;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** @returns {Promise<IteratorResult<M.Event, undefined>>} */
  async next() {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      const event = this.#pending.shift();
      if (event !== undefined) {
        this.#cursor = event.cursor;
        return { done: false, value: event };
      }
      await this.#readBatch();
    }
  }

  /** Ends the iteration (what `break` in a `for await` loop calls). */
  /** @returns {Promise<IteratorResult<M.Event, undefined>>} */
  async return() {
    this.close();
    return { done: true, value: undefined };
  }

  /** Ends the iteration: a waiting `next()` resolves as done; safe to call twice. */
  close() {
    this.#closed = true;
    this.#dropCall();
    this.#wake?.();
  }

  async #readBatch() {
    try {
      if (this.#cursor === null) this.#cursor = await this.#source.endCursor();
      if (this.#closed) return;
      if (this.#batches === null) {
        this.#call = this.#source.subscribe(subscribeRequest(this.#cursor, this.#grantIds, this.#types));
        this.#batches = this.#call[Symbol.asyncIterator]();
      }
      const step = await this.#batches.next();
      if (!step.done) {
        this.#take(step.value);
        return;
      }
      // The daemon ended the stream (it does only when stopping): resume.
    } catch (error) {
      if (this.#closed) return;
      const failure = errorFromGrpc(error);
      if (!RECONNECT_CODES.has(failure.code)) {
        this.close();
        throw failure;
      }
    }
    this.#dropCall();
    this.reconnects += 1;
    await this.#pause(this.#backoff.next());
  }

  /** @param {Record<string, any>} batch an EventBatch */
  #take(batch) {
    this.#backoff.reset();
    for (const event of batch.events) this.#pending.push(eventFromProto(event));
    // Progress through events the filters left out: resume after them, not before.
    if (batch.events.length === 0 && batch.cursor) this.#cursor = batch.cursor;
  }

  #dropCall() {
    const call = this.#call;
    this.#call = null;
    this.#batches = null;
    call?.cancel();
  }

  /**
   * Waits, or less when the stream is closed meanwhile.
   * @param {number} ms
   * @returns {Promise<void>}
   */
  #pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}
