/**
 * Slow and broken clients on a real socket (issue 14, finding 3): headers and bodies that
 * never finish are cut off by the configured timeouts, idle kept-alive connections close,
 * Node's own parser errors (431, 400, 408) come in our error format, and a client that
 * aborts mid-body is logged at debug level, never as an INTERNAL error. The gateway listens
 * on 127.0.0.1 with timeouts of a few hundred ms; each wait is bounded by a test timeout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ServiceBroker } from 'moleculer';
import { DEFAULTS, type Config } from '../../../src/config/index.js';
import { createGateway } from '../../../src/gateway/index.js';
import { waitFor } from '../../helpers/waitFor.js';
import { ADMIN_KEY, createFakeBroker } from './fakeServices.js';

interface LogLine {
  level: number;
  msg: string;
  code?: string;
}

/** Everything a raw connection received until the server closed it. */
function exchange(port: number, send: (s: Socket) => void): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('error', reject);
    s.on('end', () => resolve({ text, closedByServer: true }));
    s.on('connect', () => send(s));
  });
}

function errorCodeOf(text: string): { status: number; code: string; contentType: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  return { status, code: (JSON.parse(body) as { error: { code: string } }).error.code, contentType };
}

describe('gateway timeouts and client errors on a real socket', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let broker: ServiceBroker;
  let port: number;
  const logs: LogLine[] = [];

  before(async () => {
    ({ broker } = createFakeBroker());
    await broker.start();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    const config: Config = {
      ...structuredClone(DEFAULTS),
      http: { ...DEFAULTS.http, demo: false, headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 },
    };
    app = await createGateway({ broker, config, logger: pino({ level: 'debug' }, sink), adminKey: ADMIN_KEY, isReady: () => true, processMetrics: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
    await broker?.stop();
  });

  const errorsLogged = () => logs.filter((l) => l.level >= 50);

  test('headers that never finish get 408 REQUEST_TIMEOUT in our format and the connection is closed', async () => {
    const { text, closedByServer } = await exchange(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    assert.ok(closedByServer);
    const e = errorCodeOf(text);
    assert.equal(e.status, 408, text);
    assert.equal(e.code, 'REQUEST_TIMEOUT');
    assert.match(e.contentType, /^application\/json/);
  });

  test('a body that never finishes is cut off by the request timeout, and nothing is logged as an error', async () => {
    const { closedByServer } = await exchange(port, (s) => {
      s.write(`POST /v1/meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`);
    });
    assert.ok(closedByServer);
    assert.deepEqual(errorsLogged(), []);
  });

  test('an idle kept-alive connection is closed after http.keepAliveTimeoutMs', async () => {
    const { text, closedByServer } = await exchange(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
    assert.ok(closedByServer);
    assert.match(text, /^HTTP\/1\.1 200/);
  });

  test('oversized headers get 431 HEADERS_TOO_LARGE in our format, not Node\'s own body', async () => {
    const { text } = await exchange(port, (s) => s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    const e = errorCodeOf(text);
    assert.equal(e.status, 431, text.slice(0, 200));
    assert.equal(e.code, 'HEADERS_TOO_LARGE');
  });

  test('a malformed request line gets 400 BAD_REQUEST in our format', async () => {
    const { text } = await exchange(port, (s) => s.write('THIS IS NOT HTTP\r\n\r\n'));
    const e = errorCodeOf(text);
    assert.equal(e.status, 400, text);
    assert.equal(e.code, 'BAD_REQUEST');
  });

  test('a client that resets the connection mid-body is logged at debug level, not as an INTERNAL error', async () => {
    const before = logs.length;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.write(`POST /v1/meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":`, () => {
          // Let the server start reading the body, then vanish.
          setTimeout(() => {
            s.resetAndDestroy();
            resolve();
          }, 50);
        });
      });
      s.on('error', reject);
    });
    await waitFor('the abort to be logged', () => logs.slice(before).find((l) => /aborted|reset/.test(l.msg)));
    assert.deepEqual(errorsLogged(), []);
    assert.ok(!logs.some((l) => l.code === 'INTERNAL'));
  });
});
