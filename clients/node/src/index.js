// @tidings/client: the Node client of the Tidings daemon's gRPC API (tidings.v1).

export { DEFAULT_MAX_BACKOFF_MS, DEFAULT_TIMEOUT_MS, Tidings } from './client.js';
export {
  AlreadyExists,
  DeadlineExceeded,
  errorFromGrpc,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  PermissionDenied,
  ResourceExhausted,
  TidingsError,
  Unauthenticated,
  Unavailable,
  Unimplemented,
} from './errors.js';
export { Backoff, EventStream } from './events.js';
export { DEFAULT_PROTO_DIR } from './proto.js';
