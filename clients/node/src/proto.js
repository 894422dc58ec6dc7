// Loads the tidings.v1 service definitions from the repository's .proto files at run
// time, so the client always speaks the contract in /proto and nothing is generated or
// copied.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The repository's proto/ directory: clients/node/src → ../../../proto. */
export const DEFAULT_PROTO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');

// keepCase: field names as in the .proto (grant_id, from_), which convert.js reads.
// longs as Number: the int64 fields are Unix seconds and uint64 sizes, far below 2^53.
// enums as their names, so an unknown value still reads as something.
// oneofs: the name of the set case, which tells an event's object kind.
const LOAD_OPTIONS = Object.freeze({
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** @type {Map<string, Record<string, any>>} */
const loaded = new Map();

/**
 * The `tidings.v1` namespace of service constructors and message types, loaded once per
 * directory.
 * @param {string} [protoDir] a directory holding tidings/v1/*.proto
 * @returns {Record<string, any>}
 */
export function loadTidingsPackage(protoDir = DEFAULT_PROTO_DIR) {
  const root = resolve(protoDir);
  const cached = loaded.get(root);
  if (cached) return cached;
  const dir = join(root, 'tidings', 'v1');
  if (!existsSync(dir)) {
    throw new Error(`no tidings/v1 protos under ${root}: pass protoDir, the directory that holds tidings/v1/*.proto`);
  }
  const files = readdirSync(dir).filter((name) => name.endsWith('.proto')).sort()
    .map((name) => `tidings/v1/${name}`);
  const definition = loadSync(files, { ...LOAD_OPTIONS, includeDirs: [root] });
  const namespace = /** @type {any} */ (loadPackageDefinition(definition)).tidings.v1;
  loaded.set(root, namespace);
  return namespace;
}
