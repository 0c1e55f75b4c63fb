/**
 * Log format: JSON lines for collectors, pino-pretty lines for a person at a terminal
 * (`auto` picks by whether stdout is a TTY). Each case runs in a child process so its real
 * stdout is what is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isPretty } from '../../../src/lib/logger.js';

const LOGGER = fileURLToPath(new URL('../../../src/lib/logger.ts', import.meta.url));

function logOnce(format: string): string {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER)};
const log = createLogger('info', { role: 'gateway' }, ${JSON.stringify(format)});
log.child({ region: 'ap-south-1' }).info({ nodeId: 'n1' }, 'node registered');`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
}

test('auto is pretty only when stdout is a terminal; json and pretty force one', () => {
  assert.equal(isPretty('auto', { isTTY: true }), true);
  assert.equal(isPretty('auto', { isTTY: false }), false);
  assert.equal(isPretty('auto', {}), false);
  assert.equal(isPretty('json', { isTTY: true }), false);
  assert.equal(isPretty('pretty', { isTTY: false }), true);
});

test('json lines carry the message and every binding as fields', () => {
  const line = JSON.parse(logOnce('json').trim()) as Record<string, unknown>;
  assert.equal(line.msg, 'node registered');
  assert.equal(line.level, 30);
  assert.equal(line.role, 'gateway');
  assert.equal(line.region, 'ap-south-1');
  assert.equal(line.nodeId, 'n1');
});

test('auto writes JSON when stdout is a pipe', () => {
  assert.doesNotThrow(() => JSON.parse(logOnce('auto').trim()));
});

test('pretty lines read as time, level, message and fields, not JSON', () => {
  const out = logOnce('pretty').trim();
  assert.throws(() => JSON.parse(out));
  assert.match(out, /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: node registered/);
  assert.match(out, /role: "gateway"|"role":"gateway"/);
  assert.match(out, /ap-south-1/);
});
