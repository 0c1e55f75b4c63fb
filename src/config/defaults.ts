import type { Config } from './schema.js';
import { SFU_NODE_DEFAULTS } from '../media/SfuNodeConfig.js';

/** Every default in one place. */
export const DEFAULTS: Config = {
  port: 8080,
  // The distributed default; an embedded start listens on 127.0.0.1 unless told (deploymentMode.ts).
  host: '0.0.0.0',
  publicUrl: '',
  dataDir: './data',
  logLevel: 'info',
  logFormat: 'auto',
  namespace: 'meridian',
  transporter: '',
  databaseUrl: '',
  adminKey: '',
  trustedProxies: [],
  http: {
    bodyLimitBytes: 16_384,
    demo: true,
    demoJoinsPerMinute: 20,
    demoMaxMeetings: 50,
    requestTimeoutMs: 30_000,
    headersTimeoutMs: 10_000,
    keepAliveTimeoutMs: 5_000,
    metricsToken: '',
  },
  rateLimit: { perAddressPerMinute: 600, perKeyPerMinute: 3_000, failedAuthPerMinute: 30, cacheSize: 50_000 },
  meetings: { maxPerApp: 10_000, idleTtlSeconds: 7 * 86_400, sweepIntervalMs: 30_000 },
  console: { enabled: true, sessionTtlSeconds: 28_800, updateIntervalMs: 2_000, sampleIntervalMs: 5_000 },
  cascade: { enabled: true, gainMs: 40, maxNodesPerMeeting: 8, relayRefreshMs: 20_000 },
  geoip: {
    cityDbPath: '',
    tableDir: '',
    cacheSize: 50_000,
    // Frankfurt: a central point between the Americas and Asia for clients we cannot place.
    fallback: { lat: 50.11, lon: 8.68, label: 'default (Frankfurt)' },
  },
  // `measured`: distance until clients measure, then their RTTs (docs/ranking.md).
  ranking: {
    strategy: 'measured',
    count: 3,
    exploreRegions: 3,
    priorWeight: 0.25,
    learning: { enabled: true, retentionDays: 30, maxValuesPerRegion: 8, maxPrefixes: 200_000, refreshSeconds: 30 },
  },
  // Calibrated against the AWS inter-region RTT matrix (npm run calibrate-latency): see docs/ranking.md.
  latency: { fibreKmPerMs: 204, routeFactor: 1.615, baseMs: 8.2 },
  nodes: { heartbeatTimeoutMs: 5_000 },
  tokens: { secret: '', ttlSeconds: 120 },
  // The node's own defaults; the port is derived by the deployment (0 here, not the node's 7880).
  sfu: {
    nodeId: '',
    nodeKey: '',
    capacity: SFU_NODE_DEFAULTS.capacity,
    graceMs: SFU_NODE_DEFAULTS.graceMs,
    port: 0,
    publicUrl: SFU_NODE_DEFAULTS.publicUrl,
    iceAddress: SFU_NODE_DEFAULTS.ice.bindAddress,
    maxConnectionsPerAddress: SFU_NODE_DEFAULTS.signaling.maxConnectionsPerAddress,
    embeddedRegions: ['us-east-1', 'eu-central-1', 'ap-south-1'],
  },
  regions: { defaults: ['us-east-1', 'eu-central-1', 'ap-south-1'] },
  autoscaler: {
    enabled: true,
    policy: 'predictive',
    provider: 'local',
    regions: [],
    minNodes: 1,
    maxNodes: 10,
    headroom: 0.25,
    syncIntervalMs: 15_000,
    scaleUpCooldownMs: 0,
    scaleDownCooldownMs: 120_000,
    nodeStartTimeoutMs: 60_000,
    drainStaleMs: 180_000,
    migrateOnScaleDown: true,
    // Predictive headroom below the reactive one: its forecast already contains the next
    // horizon's growth (docs/autoscaler.md, "Choosing the defaults").
    predictive: { headroom: 0.15, horizonMs: 120_000, alpha: 0.5, beta: 0.2, stabilisationMs: 60_000, profileSlotMs: 60_000, profileDecay: 0.9 },
    // Kubernetes' HorizontalPodAutoscaler defaults.
    reactive: { tolerance: 0.1, stabilisationMs: 300_000 },
  },
};
