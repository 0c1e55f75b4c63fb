/**
 * The configuration schema: every setting Meridian reads, with its default.
 * `docs/configuration.md` documents each key and its environment variable.
 */
import { Type, type Static, type TProperties } from '@sinclair/typebox';

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
    }),
    geoip: Section({
      /** A GeoLite2/GeoIP2 City (or DB-IP) MMDB holding IPv4 and IPv6; empty = bundled DB-IP City Lite. */
      cityDbPath: Type.String(),
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
    sfu: Section({
      /** This node's id (`serve --role sfu`); default: the host name. */
      nodeId: Type.String({ pattern: '^([A-Za-z0-9_.:-]{1,128})?$' }),
      /** This node's join-token key (base64url); `meridian keys node-key <id>` derives it. */
      nodeKey: Type.String(),
      /** Participants a node accepts across its meetings. */
      capacity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      /** How long an empty meeting stays open for reconnects. */
      graceMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
      /** Signaling listener; 0 = any free port (embedded: gateway port + 1, + 2, …). */
      port: Port,
      /** WebSocket URL clients use; empty = `ws://<host of publicUrl or 127.0.0.1>:<port>/rtc`. */
      publicUrl: Type.String(),
      /** Address ICE binds to and announces; empty = every non-loopback interface. */
      iceAddress: Type.String(),
      /** Regions that get an in-process node in embedded mode. */
      embeddedRegions: Type.Array(Type.String()),
    }),
    regions: Section({
      /** Regions created on first start of an empty database (ids from the AWS list). */
      defaults: Type.Array(Type.String()),
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
