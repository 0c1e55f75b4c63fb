/**
 * The configuration schema: every setting Meridian reads, with its default.
 * `docs/configuration.md` documents each key and its environment variable.
 */
import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { NODE_ID_PATTERN, SfuNodeSettingFields } from '../media/SfuNodeConfig.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
/** Every section refuses unknown keys, so a typo in a config file is reported, not ignored. */
const Section = <T extends TProperties>(props: T) => Type.Object(props, { additionalProperties: false });

export const ConfigSchema = Type.Object(
  {
    /** HTTP listener of the gateway (and the SFU signaling port base in embedded mode). */
    port: Port,
    host: Type.String({ minLength: 1 }),
    /** URL clients use to reach this process; derived from host/port when empty. */
    publicUrl: Type.String(),
    /** Where embedded mode keeps its database and generated secrets. */
    dataDir: Type.String({ minLength: 1 }),
    logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')]),
    /** `auto`: human-readable lines (pino-pretty) when stdout is a terminal, JSON otherwise. */
    logFormat: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')]),
    /** Moleculer namespace: keeps clusters that share one transporter apart. */
    namespace: Type.String({ pattern: '^[A-Za-z0-9_-]*$' }),
    /** Moleculer transporter URL (`nats://…`); empty = embedded (in-process broker). */
    transporter: Type.String(),
    /** PostgreSQL URL; empty = embedded PGlite in `dataDir`. */
    databaseUrl: Type.String(),
    /** Admin credential; generated and printed on first start when empty. */
    adminKey: Type.String(),
    /** Addresses (IPs or CIDRs) whose `X-Forwarded-For` is believed. */
    trustedProxies: Type.Array(Type.String({ minLength: 1 })),
    http: Section({
      bodyLimitBytes: Type.Integer({ minimum: 256, maximum: 10_485_760 }),
      /** Serve the demo join route (uses a server-held app key). */
      demo: Type.Boolean(),
      /** `POST /demo/join` calls per client address per minute. */
      demoJoinsPerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      /** Idle and live meetings the demo may hold at once; beyond, new demo meeting names get QUOTA_EXCEEDED. */
      demoMaxMeetings: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      /** Whole request (headers and body) must arrive within this; else 408 REQUEST_TIMEOUT. */
      requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
      /** Request headers must arrive within this (at most requestTimeoutMs); else 408. */
      headersTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
      /** An idle kept-alive connection is closed after this. */
      keepAliveTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
      /** Bearer token for `/metrics` from non-loopback addresses; empty = `/metrics` answers loopback callers only. */
      metricsToken: Type.String(),
    }),
    /** Request rate limits of the gateway (fixed one-minute windows, `429 RATE_LIMITED` with `Retry-After`). */
    rateLimit: Section({
      /** Requests per client address per minute, on every route; 0 = off. */
      perAddressPerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
      /** Authenticated requests per key (app key or admin key) per minute; 0 = off. */
      perKeyPerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
      /** Rejected keys per client address per minute; past it, unknown keys are refused (429) without a lookup; 0 = off. */
      failedAuthPerMinute: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
      /** Addresses and keys tracked at once (LRU). */
      cacheSize: Type.Integer({ minimum: 100, maximum: 10_000_000 }),
    }),
    /** Meeting lifetime and per-app quotas (the rooms service). */
    meetings: Section({
      /** Idle and live meetings one app may hold at once; creating more gets QUOTA_EXCEEDED. */
      maxPerApp: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
      /** An idle (or ended) meeting nobody joined for this long is deleted. */
      idleTtlSeconds: Type.Integer({ minimum: 60, maximum: 31_536_000 }),
      /** How often expired and never-connected meetings are swept. */
      sweepIntervalMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000 }),
    }),
    /** The operator console at `/console` (admin key login, live view, actions). */
    console: Section({
      enabled: Type.Boolean(),
      /** How long a console login lasts (the session cookie's lifetime); 5 min to 7 days. */
      sessionTtlSeconds: Type.Integer({ minimum: 300, maximum: 604_800 }),
      /** How often the live view is pushed to open consoles (server-sent events). */
      updateIntervalMs: Type.Integer({ minimum: 250, maximum: 60_000 }),
      /** How often the per-region time series (last hour) takes a sample. */
      sampleIntervalMs: Type.Integer({ minimum: 1_000, maximum: 60_000 }),
    }),
    /** One meeting over several nodes and regions (docs/cascade.md): where participants go, relays between nodes. */
    cascade: Section({
      /** Add nodes to a live meeting (near a far participant, or past a full node); off = a meeting stays on one node. */
      enabled: Type.Boolean(),
      /** Least estimated RTT gain (ms) of a participant's best region over the meeting's nearest node for adding a node there. */
      gainMs: Type.Integer({ minimum: 0, maximum: 10_000 }),
      /** Most nodes one meeting may span. */
      maxNodesPerMeeting: Type.Integer({ minimum: 1, maximum: 64 }),
      /** How often each node of a meeting on several nodes is sent its peers again, with fresh relay tokens. */
      relayRefreshMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000 }),
    }),
    geoip: Section({
      /** A GeoLite2/GeoIP2 City (or DB-IP) MMDB holding IPv4 and IPv6; empty = bundled DB-IP City Lite. */
      cityDbPath: Type.String(),
      /** Where the GeoIP table derived from the MMDB is kept; empty = `$XDG_CACHE_HOME/meridian` or `~/.cache/meridian`. */
      tableDir: Type.String(),
      cacheSize: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
      /** Location used for private, loopback, reserved and unknown addresses. */
      fallback: Section({
        lat: Type.Number({ minimum: -90, maximum: 90 }),
        lon: Type.Number({ minimum: -180, maximum: 180 }),
        label: Type.String(),
      }),
    }),
    ranking: Section({
      strategy: Type.String({ minLength: 1 }),
      count: Type.Integer({ minimum: 1, maximum: 20 }),
      /** Pre-call test: extra probe targets far from the best `count` (farthest-point cover), 0 for none. */
      exploreRegions: Type.Integer({ minimum: 0, maximum: 8 }),
      /** `measured`: weight of the distance estimate against measurements, in probe sets. */
      priorWeight: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
      /** Measurements kept per network prefix (pre-call tests, probes on joins). */
      learning: Section({
        /** Store probes per prefix and rank later clients of the prefix by them. */
        enabled: Type.Boolean(),
        /** How long a measurement (and a join count) is kept. */
        retentionDays: Type.Number({ exclusiveMinimum: 0, maximum: 3650 }),
        /** Most recent probe results kept per prefix and region. */
        maxValuesPerRegion: Type.Integer({ minimum: 1, maximum: 100 }),
        /** Prefixes held in memory for ranking. */
        maxPrefixes: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
        /** How often a provider reloads what other copies stored, seconds. */
        refreshSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
      }),
    }),
    latency: Section({
      /** Speed of light in fibre, km per millisecond. */
      fibreKmPerMs: Type.Number({ exclusiveMinimum: 0 }),
      /** Measured RTT / great-circle fibre RTT (route inflation); calibrated from the AWS matrix. */
      routeFactor: Type.Number({ minimum: 1 }),
      /** Fixed RTT added for last mile and processing, ms. */
      baseMs: Type.Number({ minimum: 0 }),
    }),
    nodes: Section({
      heartbeatTimeoutMs: Type.Integer({ minimum: 500 }),
    }),
    tokens: Section({
      /** Master secret for node keys (base64url, ≥32 bytes); generated into dataDir when empty. */
      secret: Type.String(),
      ttlSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
    }),
    /** Meeting nodes this installation runs: the node's own settings (src/media/SfuNodeConfig.ts) plus how the platform starts them. */
    sfu: Section({
      /** This node's id (`serve --role sfu`); empty = the host name. */
      nodeId: Type.String({ pattern: `^(${NODE_ID_PATTERN})?$` }),
      /** This node's join-token key (base64url); `meridian keys node-key <id>` derives it. */
      nodeKey: Type.String(),
      capacity: SfuNodeSettingFields.capacity,
      graceMs: SfuNodeSettingFields.graceMs,
      /** Signaling listener; 0 = derived (embedded: gateway port + 1, + 2, …; `serve --role sfu`: `port`). */
      port: SfuNodeSettingFields.port,
      /** WebSocket URL clients use; empty = `ws://<host of publicUrl or 127.0.0.1>:<port>/rtc`. */
      publicUrl: SfuNodeSettingFields.publicUrl,
      /** The node's `ice.bindAddress`. */
      iceAddress: SfuNodeSettingFields.iceBindAddress,
      /** The node's `signaling.maxConnectionsPerAddress`. */
      maxConnectionsPerAddress: SfuNodeSettingFields.maxConnectionsPerAddress,
      /** Regions that get an in-process node in embedded mode. */
      embeddedRegions: Type.Array(Type.String()),
    }),
    regions: Section({
      /** Regions created on first start of an empty database (ids from the AWS list). */
      defaults: Type.Array(Type.String()),
    }),
    autoscaler: Section({
      /** `meridian start`: autoscaled node processes per region (true) or in-process nodes per `sfu.embeddedRegions` (false). */
      enabled: Type.Boolean(),
      /** Scaling policy by name (`predictive`, `reactive`); checked when the autoscaler starts. */
      policy: Type.String({ minLength: 1 }),
      /** Node provider by name (`local`); checked when the autoscaler starts. */
      provider: Type.String({ minLength: 1 }),
      /** Regions scaled by an embedded autoscaler; empty = every region. */
      regions: Type.Array(Type.String()),
      minNodes: Type.Integer({ minimum: 0, maximum: 10_000 }),
      maxNodes: Type.Integer({ minimum: 1, maximum: 10_000 }),
      /** Spare capacity kept above the forecast, as a fraction of it (0.25 = 25 %). */
      headroom: Type.Number({ minimum: 0, maximum: 10 }),
      syncIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
      /** Least time between two scale-ups. */
      scaleUpCooldownMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
      /** Least time after any scaling action before a scale-down. */
      scaleDownCooldownMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
      /** A started node that has not registered by then is stopped and replaced. */
      nodeStartTimeoutMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000 }),
      /** A cordoned node reporting no participant for this long is stopped even if stale meeting rows still name it. */
      drainStaleMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000 }),
      /** Empty a node cordoned for scale-down by migrating its meetings (participants move without a cut) instead of waiting for them to end. */
      migrateOnScaleDown: Type.Boolean(),
      predictive: Section({
        /** Spare capacity above the predictive forecast (which already holds the coming growth); `headroom` is the reactive policy's. */
        headroom: Type.Number({ minimum: 0, maximum: 10 }),
        /** How far ahead the forecast looks: at least the time a node takes to become ready plus one sync. */
        horizonMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
        /** Holt's smoothing of the level and of the trend, per sync interval (0..1]. */
        alpha: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
        beta: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
        /** A lower forecast must hold this long before nodes are removed. */
        stabilisationMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
        /** Width of a slot of the daily load profile; 0 disables the profile. */
        profileSlotMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
        /** Each day a profile slot keeps this fraction of its old peak. */
        profileDecay: Type.Number({ minimum: 0, maximum: 1 }),
      }),
      reactive: Section({
        /** Ratio band around 1 in which no change is made (HPA: 0.1). */
        tolerance: Type.Number({ minimum: 0, maximum: 1 }),
        /** Scale-down takes the highest recommendation of this window (HPA: 300 s). */
        stabilisationMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
      }),
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
