// examples/watch.js run as a user would: it lists the grant's messages, then prints
// the events that follow a delivery.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { client, deliver, rfc5322, skip, stack, uniqueSubject, WAIT_MS, within } from '../testing/stack.js';

const EXAMPLE = fileURLToPath(new URL('../examples/watch.js', import.meta.url));

describe('examples/watch.js', { skip }, () => {
  test('lists messages, then prints the event of a delivered message', async () => {
    const tidings = client();
    const cursor = await tidings.getCursor();
    tidings.close();
    const subject = uniqueSubject('example');
    const child = spawn(process.execPath, [EXAMPLE, stack.mailGrantId, '--cursor', cursor, '--limit', '1'], {
      env: { ...process.env, TIDINGS_ADDRESS: stack.address, TIDINGS_API_KEY: stack.apiKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
    const exited = once(child, 'exit');
    try {
      await within(new Promise((resolve) => {
        const check = () => {
          if (output.includes('watching events')) resolve(undefined);
        };
        child.stdout.on('data', check);
        check();
      }), WAIT_MS, 'the example to start watching');
      assert.match(output, /newest messages of /);

      await deliver(rfc5322({ subject, to: stack.mailEmail }));
      const [code] = await within(exited, WAIT_MS, 'the example to exit after one event');
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`message\\.created  \\S+  "${subject}"  cursor=\\S+`));
    } finally {
      child.kill();
    }
  });
});
