/** Test helpers: a real embedded platform (in-memory PGlite, in-process broker). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type ConfigOverrides } from '../../src/config/index.js';
import { Actions, type NodeInfo } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { createPlatform, type Platform } from '../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../src/apps/roles.js';
import type { Clock } from '../../src/lib/clock.js';
import { UNLIMITED_OVERRIDES } from './limits.js';

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** IPs whose DB-IP answer is known: used to join "from" a place. */
export const IPS = {
  mumbai: '49.36.0.1',
  virginia: '3.80.0.1',
  london: '81.2.69.142',
  sydney: '1.1.1.1',
  frankfurtV6: '2a00:1450:4001::1',
} as const;

export async function startTestPlatform(overrides: Record<string, unknown> = {}, opts: { bootstrap?: boolean; clock?: Clock } = {}): Promise<Platform> {
  const config = loadConfig({
    env: {},
    overrides: {
      // Tests load the gateway from loopback on purpose; tests of the limits pass their own.
      ...UNLIMITED_OVERRIDES,
      dataDir: 'memory://',
      logLevel: 'silent',
      adminKey: TEST_ADMIN_KEY,
      trustedProxies: ['127.0.0.1'],
      namespace: `test-${process.pid}`,
      ...overrides,
    } as ConfigOverrides,
  });
  return createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: false, bootstrap: opts.bootstrap ?? true, ...(opts.clock ? { clock: opts.clock } : {}) });
}

let stubPort: Promise<number> | undefined;
/**
 * A loopback HTTP server that answers every request with 426, as a node's signaling port
 * does: the URL of the fake nodes below, so the control plane's reachability probe finds
 * them alive (a registered node that does not answer is treated as hung).
 */
export function stubNodePort(): Promise<number> {
  return (stubPort ??= new Promise((resolve) => {
    const server = createServer((_req, res) => res.writeHead(426, { connection: 'close' }).end());
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve((server.address() as AddressInfo).port);
    });
  }));
}

/** Registers (or refreshes) a node through the real registry action. */
export async function heartbeat(
  p: Platform,
  nodeId: string,
  regionId: string,
  extra: { capacity?: number; participants?: number; meetings?: number; relayTokensWanted?: string[] } = {},
): Promise<NodeInfo> {
  return call(p.broker, Actions.regions.heartbeat, {
    nodeId,
    regionId,
    url: `ws://127.0.0.1:${await stubNodePort()}/rtc/${nodeId}`,
    capacity: extra.capacity ?? 10_000,
    load: { participants: extra.participants ?? 0, meetings: extra.meetings ?? 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
    ...(extra.relayTokensWanted ? { relayTokensWanted: extra.relayTokensWanted } : {}),
  });
}

/** One node in each default region. */
export async function registerDefaultNodes(p: Platform): Promise<void> {
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
