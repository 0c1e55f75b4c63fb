/**
 * The SDK's fallback in a real browser: the meeting is placed on a node that dies as the
 * first participant reaches for it. The page asks for a new placement naming that node; the
 * room manager keeps the node while its last heartbeat is fresh, then moves the meeting to
 * the next region of the ranked list, and the page follows. A later joiner goes straight to
 * the new node and the two see each other: one meeting, never split.
 *
 * The platform runs in this process (control plane, real meeting nodes in eu-central-1 and
 * us-east-1, the gateway with the demo routes) because the dead node has to be registered
 * through the broker: a "ghost" in ap-south-1 that heartbeats an endpoint it then fails to
 * serve. Two ways to die: refusing connections (crashed), and accepting TCP but never
 * answering (hung, caught by the SDK's connect timeout).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { registerDemoRoutes } from '../../src/apps/demo/index.js';
import { EMBEDDED_ROLES } from '../../src/apps/roles.js';
import { createPlatform, type Platform } from '../../src/apps/wire.js';
import { loadConfig, type ConfigOverrides } from '../../src/config/index.js';
import { Actions } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { createGateway } from '../../src/gateway/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { UNLIMITED_OVERRIDES } from '../helpers/limits.js';
import { chromiumMissing, inboundMedia, launchChromium, openParticipant, snapshot, until, waitConnected, type BrowserParticipant } from './browser-harness.js';

const ADMIN_KEY = 'e2e-fallback-admin-key-0123456789';
const skip = chromiumMissing();

/** A registered node in ap-south-1 whose endpoint fails: it stops heartbeating when first contacted. */
class GhostNode {
  readonly nodeId: string;
  readonly #platform: Platform;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #mode: 'refuse' | 'hang';
  #timer: NodeJS.Timeout | undefined;
  contacted = 0;

  private constructor(platform: Platform, nodeId: string, mode: 'refuse' | 'hang', server: Server) {
    this.#platform = platform;
    this.nodeId = nodeId;
    this.#mode = mode;
    this.#server = server;
    server.on('connection', (s) => {
      this.contacted++;
      this.stopHeartbeats();
      s.on('error', () => {});
      if (mode === 'refuse') {
        // Crashed: drop this connection and refuse every later one.
        s.destroy();
        this.#server.close();
        return;
      }
      this.#sockets.add(s);
      s.resume();
    });
  }

  static async start(platform: Platform, nodeId: string, mode: 'refuse' | 'hang'): Promise<GhostNode> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const ghost = new GhostNode(platform, nodeId, mode, server);
    await ghost.#beat();
    ghost.#timer = setInterval(() => void ghost.#beat().catch(() => {}), 500);
    return ghost;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo | null)?.port ?? 0}/rtc`;
  }

  stopHeartbeats(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #beat(): Promise<void> {
    await call(this.#platform.broker, Actions.regions.heartbeat, {
      nodeId: this.nodeId,
      regionId: 'ap-south-1',
      url: this.url,
      capacity: 100,
      load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
    });
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    for (const s of this.#sockets) s.destroy();
    if (this.#mode === 'hang' || this.contacted === 0) await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await call(this.#platform.broker, Actions.regions.deregisterNode, { nodeId: this.nodeId }).catch(() => {});
  }
}

describe('browser fallback to the next region', { skip, timeout: 180_000 }, () => {
  let platform: Platform;
  let gateway: FastifyInstance;
  let base: string;
  let browser: Browser;
  const open: BrowserParticipant[] = [];
  const ghosts: GhostNode[] = [];

  before(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        ...UNLIMITED_OVERRIDES,
        dataDir: 'memory://',
        port: 0,
        logLevel: 'warn',
        adminKey: ADMIN_KEY,
        namespace: `e2e-fallback-${process.pid}`,
        sfu: { embeddedRegions: ['eu-central-1', 'us-east-1'] },
      } as ConfigOverrides,
    });
    const logger = createLogger('warn');
    const roles = [...EMBEDDED_ROLES.filter((r) => r !== 'gateway'), 'sfu' as const];
    platform = await createPlatform({ config, roles, logger, listen: false, bootstrap: true });
    gateway = await createGateway({
      broker: platform.broker,
      config,
      logger,
      adminKey: ADMIN_KEY,
      isReady: () => platform.isReady(),
      processMetrics: false,
      extraRoutes: (app) => registerDemoRoutes(app, { broker: platform.broker, config }),
    });
    await gateway.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    for (const p of open) await p.close();
    await browser?.close();
    for (const g of ghosts) await g.close();
    await gateway?.close();
    await platform?.close();
  });

  for (const mode of ['refuse', 'hang'] as const) {
    test(`${mode === 'refuse' ? 'a crashed node (connection refused)' : 'a hung node (connect timeout)'} is given up; the meeting moves to eu-central-1 and everyone follows`, async () => {
      const ghost = await GhostNode.start(platform, `ap-south-1-ghost-${mode}`, mode);
      ghosts.push(ghost);
      const meetingId = `e2e-fallback-${mode}-${Date.now().toString(36)}`;

      const ann = await openParticipant(browser, base, meetingId, 'Ann', { from: 'mumbai' });
      open.push(ann);
      const a = await waitConnected(ann, 60_000);
      assert.ok(ghost.contacted >= 1, 'the page first went to the node it was placed on (ap-south-1, nearest to Mumbai)');
      assert.equal(a.region, 'eu-central-1', 'then to the next region of the ranked list');
      assert.ok((a.attempts ?? 0) > 1, `it took more than one attempt (${a.attempts})`);
      assert.deepEqual(
        a.fallbacks.map((f) => [f.from, f.to]),
        [[`ap-south-1/${ghost.nodeId}`, `eu-central-1/${a.node}`]],
        'one fallback event, from the dead node to the new one',
      );
      assert.equal(a.fallbacks[0]!.reason, mode === 'refuse' ? 'ENDPOINT_UNREACHABLE' : 'CONNECT_TIMEOUT');

      const meeting = await call(platform.broker, Actions.rooms.get, { appId: 'demo', meetingId });
      assert.deepEqual([meeting.status, meeting.regionId, meeting.nodeId], ['live', 'eu-central-1', a.node], 'the meeting itself moved');

      // Everyone follows: another client from Mumbai goes straight to the new node.
      const bob = await openParticipant(browser, base, meetingId, 'Bob', { from: 'mumbai' });
      open.push(bob);
      const b = await waitConnected(bob);
      assert.deepEqual([b.region, b.node, b.attempts, b.fallbacks.length], ['eu-central-1', a.node, 1, 0]);
      for (const [p, other] of [
        [ann, b.participantId!],
        [bob, a.participantId!],
      ] as const) {
        await until(`${p.name} decodes the other's video`, 30_000, async () => ((await inboundMedia(p))[other]?.framesDecoded ?? 0) > 0 || undefined);
      }
      assert.deepEqual((await snapshot(ann)).remoteVideos, [b.participantId]);
      for (const p of [ann, bob]) await p.close();
    });
  }
});
