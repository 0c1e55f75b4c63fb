/**
 * Settings of a meeting node: one defaults object, one schema, validated when the node is
 * constructed and then frozen. A bad value throws an {@link SfuNodeSettingsError} naming the
 * key. The media module owns these: the platform configuration's `sfu` section
 * (src/config/schema.ts) is composed of {@link SfuNodeSettingFields} and takes its defaults
 * from {@link SFU_NODE_DEFAULTS}, so the two cannot drift apart.
 */
import { Type, type Static } from '@sinclair/typebox';
import { deepFreeze, firstSettingProblem } from '../lib/settings.js';
import { isLocalAddress } from './engine/hostAddresses.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** A node id: what the registry, join tokens (`aud`) and key derivation name a node by. */
export const NODE_ID_PATTERN = '[A-Za-z0-9_.:-]{1,128}';

/**
 * The node settings the platform configuration also carries (its `sfu` section), each with
 * its one schema. `capacity` is at least 1: the autoscaler divides demand by it.
 */
export const SfuNodeSettingFields = {
  /** URL clients use for signaling; empty = `ws://host:port/path` once listening. */
  publicUrl: Type.String({ maxLength: 2048 }),
  /** Signaling port; 0 = any free port. */
  port: Port,
  /** Participants accepted across all meetings; joins beyond get NODE_UNAVAILABLE. */
  capacity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  /** How long an empty meeting stays open for reconnects before it ends. */
  graceMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  /** Address ICE binds to and announces; empty = all non-loopback interfaces. Checked against this machine's addresses when the node starts. */
  iceBindAddress: Type.String(),
  /** Concurrent signaling connections one client address (IPv6: one /64) may hold. */
  maxConnectionsPerAddress: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
};

/** The serialisable settings (functions, the logger and the key are passed beside them). */
export const SfuNodeSettingsSchema = Type.Object(
  {
    nodeId: Type.String({ pattern: `^${NODE_ID_PATTERN}$` }),
    regionId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    publicUrl: SfuNodeSettingFields.publicUrl,
    host: Type.String({ minLength: 1 }),
    port: SfuNodeSettingFields.port,
    capacity: SfuNodeSettingFields.capacity,
    graceMs: SfuNodeSettingFields.graceMs,
    /** Heartbeat period; the registry's timeout (5 s) needs ≤ 2 s. */
    heartbeatIntervalMs: Type.Integer({ minimum: 100, maximum: 2_000 }),
    ice: Type.Object(
      {
        bindAddress: SfuNodeSettingFields.iceBindAddress,
        portRangeBegin: Port,
        portRangeEnd: Port,
        /** One UDP port for all peers (portRangeBegin must equal portRangeEnd). */
        udpMux: Type.Boolean(),
        /** `stun:host:port` / `turn:user:pass@host:port` URLs. */
        servers: Type.Array(Type.String({ minLength: 1 }), { maxItems: 16 }),
        gatheringTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
      },
      { additionalProperties: false },
    ),
    signaling: Type.Object(
      {
        path: Type.String({ pattern: '^/[A-Za-z0-9/_-]*$' }),
        /** Largest message answered with a PAYLOAD_TOO_LARGE `error`. */
        maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 1_048_576 }),
        /** Largest frame `ws` reads at all (above: close 1009 without a message). */
        hardMaxFrameBytes: Type.Integer({ minimum: 1024, maximum: 16_777_216 }),
        messagesPerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 10_000 }),
        messageBurst: Type.Integer({ minimum: 1, maximum: 10_000 }),
        joinTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000 }),
        pingIntervalMs: Type.Integer({ minimum: 100, maximum: 300_000 }),
        maxBufferedBytes: Type.Integer({ minimum: 1024 }),
        /** A TCP connection that has not completed its WebSocket upgrade by then is dropped (also Node's headers timeout). */
        upgradeTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
        /** Node's limit for a whole plain HTTP request (≥ upgradeTimeoutMs). */
        requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000 }),
        /** Node's idle keep-alive timeout between plain HTTP requests. */
        keepAliveTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
        /** Concurrent TCP connections one client address (IPv6: one /64) may hold; more are answered 429 RATE_LIMITED. */
        maxConnectionsPerAddress: SfuNodeSettingFields.maxConnectionsPerAddress,
      },
      { additionalProperties: false },
    ),
    /** How the node checks join tokens beyond their signature. */
    tokens: Type.Object(
      {
        /** Longest token lifetime accepted (`exp − iat`, and `exp − now`), plus the clock tolerance: the control plane's `tokens.ttlSeconds`. */
        maxTtlSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
        /** Clock difference tolerated between the issuer and this node, for `exp` and the lifetime cap. */
        clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 60 }),
        /** Token ids remembered (single use) until they expire; when full of unexpired ids, joins get NODE_UNAVAILABLE. */
        maxRememberedIds: Type.Integer({ minimum: 100, maximum: 10_000_000 }),
      },
      { additionalProperties: false },
    ),
    media: Type.Object(
      {
        keyFrameRequestIntervalMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
        retransmissionSlots: Type.Integer({ minimum: 16, maximum: 32_768 }),
        retransmissionMaxAgeMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
        activeSpeakerIntervalMs: Type.Integer({ minimum: 50, maximum: 60_000 }),
        /** Event-loop lag at which video forwarding is shed until the node catches up. */
        overloadLagMs: Type.Integer({ minimum: 10, maximum: 60_000 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** Validated, frozen settings. */
export type SfuNodeSettings = Static<typeof SfuNodeSettingsSchema>;

/** Settings with every optional part optional. */
export type SfuNodeSettingsInput = Pick<SfuNodeSettings, 'nodeId' | 'regionId'> &
  Partial<Omit<SfuNodeSettings, 'ice' | 'signaling' | 'tokens' | 'media'>> & {
    ice?: Partial<SfuNodeSettings['ice']>;
    signaling?: Partial<SfuNodeSettings['signaling']>;
    tokens?: Partial<SfuNodeSettings['tokens']>;
    media?: Partial<SfuNodeSettings['media']>;
  };

/** Every default in one place. */
export const SFU_NODE_DEFAULTS: Omit<SfuNodeSettings, 'nodeId' | 'regionId'> = {
  publicUrl: '',
  host: '0.0.0.0',
  port: 7880,
  capacity: 500,
  graceMs: 30_000,
  heartbeatIntervalMs: 2_000,
  ice: { bindAddress: '', portRangeBegin: 0, portRangeEnd: 0, udpMux: false, servers: [], gatheringTimeoutMs: 5_000 },
  signaling: {
    path: '/rtc',
    maxMessageBytes: 64 * 1024,
    hardMaxFrameBytes: 1024 * 1024,
    messagesPerSecond: 20,
    messageBurst: 50,
    joinTimeoutMs: 10_000,
    pingIntervalMs: 15_000,
    maxBufferedBytes: 4 * 1024 * 1024,
    upgradeTimeoutMs: 5_000,
    requestTimeoutMs: 10_000,
    keepAliveTimeoutMs: 5_000,
    // A whole office behind one NAT on one node still fits; a thousand half-open sockets do not.
    maxConnectionsPerAddress: 64,
  },
  // 120 s: the platform's default `tokens.ttlSeconds`. 100,000 ids ≈ 10 MB, a sustained
  // 830 joins/s at that lifetime.
  tokens: { maxTtlSeconds: 120, clockToleranceSeconds: 2, maxRememberedIds: 100_000 },
  media: {
    keyFrameRequestIntervalMs: 500,
    retransmissionSlots: 512,
    retransmissionMaxAgeMs: 2_000,
    activeSpeakerIntervalMs: 300,
    overloadLagMs: 250,
  },
};

/** A node setting that is out of range; `key` is its dotted path (e.g. `ice.bindAddress`). */
export class SfuNodeSettingsError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`Invalid SFU node setting "${key}": ${detail}`);
    this.name = 'SfuNodeSettingsError';
  }
}

/** Merges `input` over the defaults, validates, freezes. Throws {@link SfuNodeSettingsError} naming the bad key. */
export function resolveSfuNodeSettings(input: SfuNodeSettingsInput): Readonly<SfuNodeSettings> {
  const merged: SfuNodeSettings = {
    ...SFU_NODE_DEFAULTS,
    ...stripUndefined(input),
    ice: { ...SFU_NODE_DEFAULTS.ice, ...stripUndefined(input.ice ?? {}) },
    signaling: { ...SFU_NODE_DEFAULTS.signaling, ...stripUndefined(input.signaling ?? {}) },
    tokens: { ...SFU_NODE_DEFAULTS.tokens, ...stripUndefined(input.tokens ?? {}) },
    media: { ...SFU_NODE_DEFAULTS.media, ...stripUndefined(input.media ?? {}) },
  } as SfuNodeSettings;
  const problem = firstSettingProblem(SfuNodeSettingsSchema, merged);
  if (problem) throw new SfuNodeSettingsError(problem.key, `${problem.message} (got ${JSON.stringify(problem.value)})`);
  const { ice, signaling } = merged;
  if ((ice.portRangeBegin === 0) !== (ice.portRangeEnd === 0) || ice.portRangeEnd < ice.portRangeBegin) {
    throw new SfuNodeSettingsError('ice.portRangeEnd', 'set both ends of the range, end ≥ begin');
  }
  if (ice.udpMux && (ice.portRangeBegin === 0 || ice.portRangeBegin !== ice.portRangeEnd)) {
    throw new SfuNodeSettingsError('ice.udpMux', 'needs one fixed port (portRangeBegin = portRangeEnd ≠ 0)');
  }
  if (ice.bindAddress && !isLocalAddress(ice.bindAddress)) {
    throw new SfuNodeSettingsError('ice.bindAddress', `${ice.bindAddress} is not an address of this machine`);
  }
  if (signaling.requestTimeoutMs < signaling.upgradeTimeoutMs) {
    throw new SfuNodeSettingsError('signaling.requestTimeoutMs', 'must be ≥ signaling.upgradeTimeoutMs');
  }
  if (signaling.hardMaxFrameBytes < signaling.maxMessageBytes) {
    throw new SfuNodeSettingsError('signaling.hardMaxFrameBytes', 'must be ≥ signaling.maxMessageBytes');
  }
  return deepFreeze(merged);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
