/**
 * A distributed Meridian installation for end-to-end tests: every role is a separate OS
 * process (the compiled CLI, `meridian serve --role …`) talking over NATS and sharing one
 * throw-away PostgreSQL database, in a Moleculer namespace of its own. Not a test file
 * (no `.test.ts`): the `distributed-*.test.ts` files import it.
 *
 * Every process started here is killed by {@link Cluster.stop}, and by an exit/signal hook
 * if the test process goes away first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import type { ServiceBroker } from 'moleculer';
import { Actions, type JoinResult, type NodeInfo } from '../../src/contracts/index.js';
import { deriveNodeKey, parseMasterSecret } from '../../src/control/auth/index.js';
import { findAwsRegion } from '../../src/control/provider/awsRegions.js';
import { call, createBroker } from '../../src/fabric/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { freePort, spawnMeridian, waitForStatus, type Spawned } from '../helpers/process.js';
import { waitFor } from '../helpers/waitFor.js';

export const NATS_URL = process.env.MERIDIAN_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const ADMIN_KEY = `e2e-admin-${randomBytes(12).toString('hex')}`;
/** Client addresses with a known DB-IP answer. */
export const IP = { mumbai: '49.36.0.1', virginia: '3.80.0.1', london: '81.2.69.142' } as const;
export const REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'] as const;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ process hygiene

const children = new Set<ChildProcess>();
function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
/** Last resort: whatever happens to the test process, its children die with it. */
function killAllChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}
process.once('exit', killAllChildren);
const clusters = new Set<Cluster>();
// A test that times out leaves its promise (and its handles) behind: clean up, then make
// sure the file's process ends even if some handle is still open.
after(async () => {
  await Promise.all([...clusters].map((c) => c.stop()));
  killAllChildren();
  setTimeout(() => {
    process.stderr.write('distributed-harness: a handle kept the test process alive 5 s after its tests; exiting\n');
    process.exit(process.exitCode ?? 1);
  }, 5_000).unref();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The shared polling helper (test/helpers/waitFor.ts) under this file's argument order. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 150): Promise<T> => waitFor(what, probe, { timeoutMs, intervalMs });

// ------------------------------------------------------------------ NATS of our own

/** A nats-server this test owns (so restarting it disturbs nobody else's tests). */
export class PrivateNats {
  #child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNats> {
    const n = new PrivateNats(await freePort());
    await n.start();
    return n;
  }

  async start(): Promise<void> {
    const bin = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (!bin) throw new Error('nats-server is not installed (apt-get install -y nats-server; see ../shared/reference/services.md)');
    const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(this.port)], { stdio: 'ignore' });
    track(child);
    this.#child = child;
    await until(`nats-server on ${this.port}`, 10_000, async () => ((await portOpen(this.port)) ? true : undefined), 50);
  }

  /** Stops the server (SIGKILL: no goodbye to clients, like a crash). */
  async stop(): Promise<void> {
    const c = this.#child;
    this.#child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
}

// ------------------------------------------------------------------ a TCP proxy we can cut

/**
 * A TCP proxy in front of PostgreSQL. `forward` passes bytes; `refuse` closes every
 * connection and the listener (clients get ECONNREFUSED, as when the server is down);
 * `blackhole` accepts connections and holds every byte (as a dead network does).
 */
export class TcpProxy {
  #server: Server | undefined;
  #mode: 'forward' | 'refuse' | 'blackhole' = 'forward';
  readonly #sockets = new Set<Socket>();
  private constructor(
    readonly port: number,
    readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(await freePort(), targetPort);
    await p.#listen();
    return p;
  }

  get mode(): string {
    return this.#mode;
  }

  async #listen(): Promise<void> {
    const server = createServer((client) => {
      client.on('error', () => {});
      if (this.#mode === 'refuse') {
        client.destroy();
        return;
      }
      this.#sockets.add(client);
      client.once('close', () => this.#sockets.delete(client));
      if (this.#mode === 'blackhole') {
        client.pause();
        return;
      }
      const upstream = createConnection({ port: this.targetPort, host: '127.0.0.1' });
      this.#sockets.add(upstream);
      upstream.once('close', () => {
        this.#sockets.delete(upstream);
        client.destroy();
      });
      client.once('close', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  /** Stops accepting; resolves once the open connections are gone too (destroy them first). */
  async #closeListener(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  #destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** PostgreSQL is down: connections reset, new ones refused. */
  async refuse(): Promise<void> {
    this.#mode = 'refuse';
    this.#destroyAll();
    await this.#closeListener();
  }

  /** The network to PostgreSQL is dead: nothing answers, nothing is refused. */
  async blackhole(): Promise<void> {
    this.#mode = 'blackhole';
    for (const s of this.#sockets) {
      s.unpipe();
      s.pause();
    }
    if (!this.#server) await this.#listen();
  }

  /** Back to normal; held connections are dropped so clients reconnect cleanly. */
  async forward(): Promise<void> {
    this.#destroyAll();
    this.#mode = 'forward';
    if (!this.#server) await this.#listen();
  }

  async close(): Promise<void> {
    this.#mode = 'refuse';
    this.#destroyAll();
    await this.#closeListener();
  }
}

// ------------------------------------------------------------------ meeting nodes

/**
 * STAND-IN for meeting nodes, used only with `MERIDIAN_E2E_SFU=stand-in` (e.g. to tell a
 * control-plane failure from a media-plane one): registers nodes by calling the real
 * `regions.heartbeat` action every second from a client broker in the test process. By
 * default the cluster runs real `meridian serve --role sfu --region R` processes.
 */
export class StandInNodes {
  readonly #timer: NodeJS.Timeout;
  failures = 0;
  constructor(
    readonly broker: ServiceBroker,
    readonly nodes: ReadonlyArray<{ nodeId: string; regionId: string }>,
  ) {
    this.#timer = setInterval(() => void this.beat(), 1_000);
  }

  beat(): Promise<void> {
    return Promise.all(
      this.nodes.map((n) =>
        call(this.broker, Actions.regions.heartbeat, {
          nodeId: n.nodeId,
          regionId: n.regionId,
          url: `ws://127.0.0.1:9/rtc/${n.nodeId}`,
          capacity: 10_000,
          load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
        }).catch(() => {
          this.failures++;
        }),
      ),
    ).then(() => {});
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** How the cluster got its meeting nodes. */
export type NodeMode = 'sfu-processes' | 'stand-in';

// ------------------------------------------------------------------ the cluster

/**
 * Environment for clusters whose tests expect every participant of a meeting on its one node
 * (joins from several continents to one meeting): cascading off (docs/cascade.md).
 */
export const SINGLE_NODE: Record<string, string> = { MERIDIAN_CASCADE: 'false' };

export interface ClusterOptions {
  /** Used in the namespace and the database name. */
  name: string;
  gateways?: number;
  rooms?: number;
  /** Defaults to the machine's NATS ({@link NATS_URL}). */
  natsUrl?: string;
  /** The URL the database roles get (e.g. through a {@link TcpProxy}); defaults to the database's own. */
  databaseUrlForRoles?: (directUrl: string) => string;
  /** Extra environment for every role. */
  env?: Record<string, string>;
  /** Called with the test database before any role starts (e.g. to put a proxy in front). */
  beforeRoles?: (directUrl: string) => Promise<void>;
}

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  retryAfter: string | null;
  ms: number;
}

interface RoleProcess {
  name: string;
  role: string;
  port: number;
  env: Record<string, string>;
  args: string[];
  spawned: Spawned;
}

export class Cluster {
  readonly namespace: string;
  readonly natsUrl: string;
  readonly roles = new Map<string, RoleProcess>();
  gateways: string[] = [];
  appKey = '';
  client: ServiceBroker | undefined;
  nodeMode: NodeMode | undefined;
  standIn: StandInNodes | undefined;
  readonly notes: string[] = [];
  #db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  #pool: pg.Pool | undefined;
  #dataDir: string;
  #env: Record<string, string> = {};
  /** The control plane's token master secret; node keys derive from it. */
  readonly #tokenSecret = randomBytes(32).toString('base64url');
  #stopped = false;

  private constructor(readonly opts: ClusterOptions) {
    this.namespace = `e2e-${opts.name}-${process.pid}-${randomBytes(2).toString('hex')}`;
    this.natsUrl = opts.natsUrl ?? NATS_URL;
    this.#dataDir = mkdtempSync(join(tmpdir(), 'meridian-dist-'));
  }

  /** Starts every role, bootstraps regions and an app key, registers nodes, waits until joins can land. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    clusters.add(c);
    try {
      await c.#start();
      return c;
    } catch (err) {
      const logs = c.logs();
      await c.stop();
      throw new Error(`${(err as Error).message}\n--- process output ---\n${logs}`);
    }
  }

  /** The test database, for checks that must not go through the platform. */
  get databaseUrl(): string {
    return this.#db!.url;
  }

  /** A direct connection pool to the test database. */
  get sql(): pg.Pool {
    if (!this.#pool) {
      this.#pool = new pg.Pool({ connectionString: this.#db!.url, max: 2 });
      // An idle connection that the server ends (the drop at stop(), a test that cuts the
      // database) must not crash the test process; a query on it fails on its own.
      this.#pool.on('error', () => {});
    }
    return this.#pool;
  }

  async #start(): Promise<void> {
    this.#db = await createTestDatabase(`meridian_dist_${this.opts.name.replace(/\W/g, '_')}`);
    await this.opts.beforeRoles?.(this.#db.url);
    const roleDbUrl = this.opts.databaseUrlForRoles?.(this.#db.url) ?? this.#db.url;
    this.#env = {
      MERIDIAN_TRANSPORTER: this.natsUrl,
      MERIDIAN_NAMESPACE: this.namespace,
      MERIDIAN_DATABASE_URL: roleDbUrl,
      MERIDIAN_ADMIN_KEY: ADMIN_KEY,
      MERIDIAN_TRUSTED_PROXIES: '127.0.0.1',
      MERIDIAN_HOST: '127.0.0.1',
      MERIDIAN_LOG_LEVEL: 'warn',
      MERIDIAN_DATA_DIR: this.#dataDir,
      MERIDIAN_CONFIG: '',
      MERIDIAN_TOKEN_SECRET: this.#tokenSecret,
      ...this.opts.env,
    };

    const starts: Array<Promise<RoleProcess>> = [
      this.startRole('regions', 'regions'),
      this.startRole('auth', 'auth'),
      this.startRole('region-provider', 'region-provider'),
    ];
    for (let i = 1; i <= (this.opts.rooms ?? 1); i++) starts.push(this.startRole(`rooms-${i}`, 'rooms'));
    for (let i = 1; i <= (this.opts.gateways ?? 2); i++) starts.push(this.startRole(`gateway-${i}`, 'gateway'));
    await Promise.all(starts);
    this.gateways = [...this.roles.values()].filter((r) => r.role === 'gateway').map((r) => `http://127.0.0.1:${r.port}`);

    // Distributed mode has no embedded bootstrap: the operator adds regions and keys.
    for (const id of REGIONS) {
      const aws = findAwsRegion(id)!;
      const r = await this.http('POST', 0, '/v1/admin/regions', { id, name: aws.name, lat: aws.lat, lon: aws.lon }, ADMIN_KEY);
      if (r.status !== 201) throw new Error(`adding region ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    const key = await this.http<{ key: string }>('POST', 0, '/v1/admin/keys', { appId: 'e2e', label: 'distributed e2e' }, ADMIN_KEY);
    if (key.status !== 201) throw new Error(`creating an app key: HTTP ${key.status} ${JSON.stringify(key.body)}`);
    this.appKey = key.body.key;

    this.client = createBroker({ nodeID: `e2e-client-${this.namespace}`, namespace: this.namespace, transporter: this.natsUrl, logger: createLogger('silent') });
    await this.client.start();
    await this.client.waitForServices(['regions', 'rooms'], 30_000);

    await this.startNodes();
    // Joins can land once every gateway's path (provider and room manager) sees serving nodes.
    for (let g = 0; g < this.gateways.length; g++) {
      await until(`gateway ${g + 1} ranks all three regions`, 30_000, async () => {
        const r = await this.http<{ regions: Array<{ id: string }> }>('GET', g, `/v1/regions/rank?ip=${IP.mumbai}&count=3`, undefined, ADMIN_KEY);
        return r.status === 200 && r.body.regions.length === REGIONS.length ? true : undefined;
      });
    }
  }

  /** Spawns `meridian serve --role <role>` and waits for its /readyz. */
  async startRole(name: string, role: string, extraArgs: string[] = [], extraEnv: Record<string, string> = {}, readyTimeoutMs = 90_000): Promise<RoleProcess> {
    const port = await freePort();
    const env = { ...this.#env, ...extraEnv, MERIDIAN_PORT: String(port) };
    const args = ['serve', '--role', role, ...extraArgs];
    const spawned = spawnMeridian(args, env);
    track(spawned.child);
    const rp: RoleProcess = { name, role, port, env, args, spawned };
    this.roles.set(name, rp);
    await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, readyTimeoutMs, spawned);
    return rp;
  }

  /** Starts a role process again with the same settings and port (a supervisor's restart). */
  async restart(name: string, readyTimeoutMs = 60_000): Promise<void> {
    const rp = this.roles.get(name);
    if (!rp) throw new Error(`no role process ${name}`);
    if (rp.spawned.child.exitCode === null && rp.spawned.child.signalCode === null) throw new Error(`${name} is still running`);
    rp.spawned = spawnMeridian(rp.args, rp.env);
    track(rp.spawned.child);
    await waitForStatus(`http://127.0.0.1:${rp.port}/readyz`, 200, readyTimeoutMs, rp.spawned);
  }

  /** Sends a signal to a role process and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals): Promise<number | null> {
    const rp = this.roles.get(name);
    if (!rp) throw new Error(`no role process ${name}`);
    rp.spawned.child.kill(signal);
    return rp.spawned.exited;
  }

  /** True while every role process is running. */
  allRunning(): boolean {
    return [...this.roles.values()].every((r) => r.spawned.child.exitCode === null && r.spawned.child.signalCode === null);
  }

  /**
   * Meeting nodes, one per region: `meridian serve --role sfu --region R` processes (or the
   * {@link StandInNodes} with `MERIDIAN_E2E_SFU=stand-in`); resolves once the registry lists
   * a healthy node in every region.
   */
  async startNodes(): Promise<void> {
    if (process.env.MERIDIAN_E2E_SFU === 'stand-in') {
      this.notes.push('meeting nodes: stand-in heartbeats from the test process (MERIDIAN_E2E_SFU=stand-in)');
      this.standIn = new StandInNodes(
        this.client!,
        REGIONS.map((r) => ({ nodeId: `${r}-standin-1`, regionId: r })),
      );
      await this.standIn.beat();
      this.nodeMode = 'stand-in';
      return;
    }
    await Promise.all(REGIONS.map((r) => this.startSfu(r)));
    await until('every region lists a healthy node', 30_000, async () => {
      const { regions } = await call(this.client!, Actions.regions.list, {});
      return REGIONS.every((id) => regions.find((x) => x.id === id)?.nodes.some((n) => n.healthy)) ? true : undefined;
    });
    this.nodeMode = 'sfu-processes';
  }

  /**
   * Starts a meeting node of `region` as its own process: node id `<region>-sfu-<n>`, its
   * token key derived from the cluster's token secret (as `meridian keys node-key` does),
   * signaling on a port of its own, probes on `MERIDIAN_PORT`.
   */
  async startSfu(region: string, n = 1): Promise<RoleProcess> {
    const nodeId = `${region}-sfu-${n}`;
    return this.startRole(`sfu-${region}-${n}`, 'sfu', ['--region', region], {
      MERIDIAN_NODE_ID: nodeId,
      MERIDIAN_NODE_KEY: deriveNodeKey(parseMasterSecret(this.#tokenSecret), nodeId).toString('base64url'),
      MERIDIAN_SFU_PORT: String(await freePort()),
    });
  }

  /** One HTTP call to gateway `g`. Never hangs: 30 s and it reports status 0. */
  async http<T = unknown>(method: string, g: number, path: string, body?: unknown, key = this.appKey, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
    const started = performance.now();
    try {
      const res = await fetch(`${this.gateways[g] ?? this.gateways[0]}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, retryAfter: res.headers.get('retry-after'), ms: performance.now() - started };
    } catch (err) {
      return { status: 0, body: { error: { code: 'CLIENT', message: (err as Error).message } } as T, retryAfter: null, ms: performance.now() - started };
    }
  }

  createMeeting(id: string, g = 0): Promise<HttpAnswer> {
    return this.http('POST', g, '/v1/meetings', { id });
  }

  /** `POST /v1/meetings/:id/join` through gateway `g`, from `ip` (X-Forwarded-For from 127.0.0.1, a trusted proxy). */
  join(g: number, meetingId: string, ip: string, participant = `p-${randomBytes(3).toString('hex')}`): Promise<HttpAnswer<JoinResult & { error?: { code: string; message: string } }>> {
    return this.http('POST', g, `/v1/meetings/${meetingId}/join`, { participant: { id: participant, name: participant } }, this.appKey, { 'x-forwarded-for': ip });
  }

  /** The meetings table as stored (bypassing every cache). */
  async meetingRows(ids?: string[]): Promise<Array<{ id: string; status: string; region_id: string | null; node_id: string | null; epoch: number }>> {
    const r = ids
      ? await this.sql.query('SELECT id, status, region_id, node_id, epoch FROM meetings WHERE id = ANY($1) ORDER BY id', [ids])
      : await this.sql.query('SELECT id, status, region_id, node_id, epoch FROM meetings ORDER BY id');
    return r.rows;
  }

  /** Nodes as the registry sees them. */
  async nodes(): Promise<NodeInfo[]> {
    const { regions } = await call(this.client!, Actions.regions.list, {});
    return regions.flatMap((r) => r.nodes);
  }

  /** The last lines of every process's output (for failure messages). */
  logs(maxPerProcess = 3_000): string {
    return [...this.roles.values()].map((r) => `[${r.name}] ${r.spawned.output().slice(-maxPerProcess)}`).join('\n');
  }

  /** Kills every process, stops the client broker, drops the database; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clusters.delete(this);
    this.standIn?.stop();
    await Promise.all(
      [...this.roles.values()].map((r) => {
        r.spawned.child.kill('SIGKILL');
        return r.spawned.exited;
      }),
    );
    await this.client?.stop().catch(() => {});
    await this.#pool?.end().catch(() => {});
    await this.#db?.drop().catch(() => {});
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
