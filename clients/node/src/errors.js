// One error family for everything the daemon refuses, as in the Python client.
//
// Every failed call becomes a `TidingsError` subclass chosen by its gRPC status code,
// carrying the status name (`code`), its number (`grpcCode`) and the server's message
// (which names the field or object at fault). Codes without a class of their own
// (INTERNAL, UNKNOWN...) give a `TidingsError` itself.

import { status } from '@grpc/grpc-js';

/** A call failed. `code` is the gRPC status name, `message` the server's text. */
export class TidingsError extends Error {
  /** The status name this class stands for. */
  static status = 'UNKNOWN';

  /**
   * @param {string} message the server's text
   * @param {{code?: string, grpcCode?: number, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const own = /** @type {typeof TidingsError} */ (this.constructor);
    this.name = own.name;
    /** @type {string} gRPC status name, e.g. "NOT_FOUND". */
    this.code = options.code ?? own.status;
    /** @type {number} gRPC status number, e.g. 5. */
    this.grpcCode = options.grpcCode ?? status[/** @type {keyof typeof status} */ (this.code)] ?? status.UNKNOWN;
  }
}

/** A request field is missing or malformed; the message names it. */
export class InvalidArgument extends TidingsError { static status = 'INVALID_ARGUMENT'; }
/** The connector, grant or other object named does not exist. */
export class NotFound extends TidingsError { static status = 'NOT_FOUND'; }
/** The object to create exists already. */
export class AlreadyExists extends TidingsError { static status = 'ALREADY_EXISTS'; }
/** No API key, or one the daemon does not know or has revoked. */
export class Unauthenticated extends TidingsError { static status = 'UNAUTHENTICATED'; }
/** The API key may not do this. */
export class PermissionDenied extends TidingsError { static status = 'PERMISSION_DENIED'; }
/**
 * Valid, but not possible now: the mail server refused the credentials, a connector
 * still has grants, a cursor is older than the retained log...
 */
export class FailedPrecondition extends TidingsError { static status = 'FAILED_PRECONDITION'; }
/** A limit was reached; retry later or ask for less. */
export class ResourceExhausted extends TidingsError { static status = 'RESOURCE_EXHAUSTED'; }
/** The daemon (or the mail server behind it) cannot serve the call now. */
export class Unavailable extends TidingsError { static status = 'UNAVAILABLE'; }
/** The call did not finish within the client's timeout. */
export class DeadlineExceeded extends TidingsError { static status = 'DEADLINE_EXCEEDED'; }
/** This daemon does not serve the method (an older version, or a feature switched off). */
export class Unimplemented extends TidingsError { static status = 'UNIMPLEMENTED'; }

/** @type {ReadonlyMap<string, typeof TidingsError>} */
const BY_CODE = new Map(
  [InvalidArgument, NotFound, AlreadyExists, Unauthenticated, PermissionDenied,
    FailedPrecondition, ResourceExhausted, Unavailable, DeadlineExceeded, Unimplemented]
    .map((cls) => [cls.status, cls]),
);

/** @type {ReadonlyMap<number, string>} */
const NAMES = new Map(
  Object.entries(status).map(([name, number]) => [/** @type {number} */ (number), name]),
);

/**
 * The gRPC status name of a failed call's error (`UNKNOWN` for anything else).
 * @param {unknown} error
 * @returns {string}
 */
export function statusName(error) {
  const code = /** @type {{code?: unknown}} */ (error ?? {}).code;
  return typeof code === 'number' ? (NAMES.get(code) ?? 'UNKNOWN') : 'UNKNOWN';
}

/**
 * The `TidingsError` for a failed gRPC call (a grpc-js `ServiceError`).
 * @param {unknown} error
 * @returns {TidingsError}
 */
export function errorFromGrpc(error) {
  if (error instanceof TidingsError) return error;
  const name = statusName(error);
  const details = /** @type {{details?: unknown}} */ (error ?? {}).details;
  const message = typeof details === 'string' && details !== ''
    ? details
    : (error instanceof Error ? error.message : String(error));
  const cls = BY_CODE.get(name) ?? TidingsError;
  return new cls(message, { code: name, grpcCode: status[/** @type {keyof typeof status} */ (name)], cause: error });
}
