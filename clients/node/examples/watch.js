#!/usr/bin/env node
// Lists the newest messages of a grant, then prints its events as they stream.
//
//   TIDINGS_ADDRESS=127.0.0.1:50051 TIDINGS_API_KEY=... node examples/watch.js <grant-id>
//       [--cursor <cursor>] [--limit <events>]
//
// --cursor replays the events after that cursor first (each printed line ends with the
// event's cursor, to resume from); --limit stops after that many events. Without a
// limit it runs until interrupted, reconnecting whenever the daemon goes away.

import { parseArgs } from 'node:util';

import { Tidings, TidingsError } from '../src/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { cursor: { type: 'string' }, limit: { type: 'string' } },
});
const [grantId] = positionals;
const { TIDINGS_ADDRESS: address = '127.0.0.1:50051', TIDINGS_API_KEY: apiKey } = process.env;
if (!grantId || !apiKey) {
  console.error('usage: TIDINGS_API_KEY=<key> [TIDINGS_ADDRESS=host:port] node examples/watch.js <grant-id> [--cursor C] [--limit N]');
  process.exit(2);
}
const limit = values.limit === undefined ? Infinity : Number(values.limit);

const tidings = new Tidings({ address, apiKey });
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

try {
  const page = await tidings.listMessages(grantId, { limit: 10 });
  console.log(`${page.messages.length} newest messages of ${grantId}:`);
  for (const message of page.messages) {
    const from = message.from[0]?.email ?? '(no sender)';
    console.log(`  ${message.date.toISOString()}  ${from}  ${message.subject}`);
  }

  // Without --cursor, start at the end of the log now, so that nothing that happens
  // after this line is missed.
  const cursor = values.cursor ?? await tidings.getCursor();
  console.log('watching events (Ctrl-C to stop)');
  let seen = 0;
  for await (const event of tidings.watchEvents({ cursor, grantIds: [grantId], signal: stop.signal })) {
    const subject = event.objectKind === 'message' && event.object && 'subject' in event.object
      ? `  "${event.object.subject}"` : '';
    console.log(`${event.createdAt.toISOString()}  ${event.type}  ${event.objectId}${subject}  cursor=${event.cursor}`);
    seen += 1;
    if (seen >= limit) break;
  }
} catch (error) {
  if (!(error instanceof TidingsError)) throw error;
  console.error(`${error.code}: ${error.message}`);
  process.exitCode = 1;
} finally {
  tidings.close();
}
