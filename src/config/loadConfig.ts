/**
 * Loads the configuration: defaults, then a JSON file (`MERIDIAN_CONFIG`), then environment
 * variables, then explicit overrides (CLI flags). The result is validated against
 * {@link ConfigSchema} and frozen; a bad value throws a {@link ConfigError} naming the key.
 */
import { readFileSync } from 'node:fs';
import { ConfigSchema, type Config } from './schema.js';
import { DEFAULTS } from './defaults.js';
import { deepFreeze, firstSettingProblem } from '../lib/settings.js';
import { DEMO_BY_DEFAULT, HOST_BY_DEFAULT, defaultIceAddress, deploymentMode } from './deploymentMode.js';

/** Thrown at start-up for an invalid setting; `key` is the dotted path (e.g. `geoip.cacheSize`). */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

type EnvKind = 'string' | 'int' | 'number' | 'bool' | 'list';

/** Environment variable → config key. Documented in docs/configuration.md. */
export const ENV_VARS: ReadonlyArray<readonly [string, string, EnvKind]> = [
  ['MERIDIAN_PORT', 'port', 'int'],
  ['MERIDIAN_HOST', 'host', 'string'],
  ['MERIDIAN_PUBLIC_URL', 'publicUrl', 'string'],
  ['MERIDIAN_DATA_DIR', 'dataDir', 'string'],
  ['MERIDIAN_LOG_LEVEL', 'logLevel', 'string'],
  ['MERIDIAN_LOG_FORMAT', 'logFormat', 'string'],
  ['MERIDIAN_NAMESPACE', 'namespace', 'string'],
  ['MERIDIAN_TRANSPORTER', 'transporter', 'string'],
  ['MERIDIAN_DATABASE_URL', 'databaseUrl', 'string'],
  ['MERIDIAN_ADMIN_KEY', 'adminKey', 'string'],
  ['MERIDIAN_TRUSTED_PROXIES', 'trustedProxies', 'list'],
  ['MERIDIAN_BODY_LIMIT_BYTES', 'http.bodyLimitBytes', 'int'],
  ['MERIDIAN_DEMO', 'http.demo', 'bool'],
  ['MERIDIAN_CONSOLE', 'console.enabled', 'bool'],
  ['MERIDIAN_CONSOLE_SESSION_TTL_SECONDS', 'console.sessionTtlSeconds', 'int'],
  ['MERIDIAN_DEMO_JOINS_PER_MINUTE', 'http.demoJoinsPerMinute', 'int'],
  ['MERIDIAN_DEMO_MAX_MEETINGS', 'http.demoMaxMeetings', 'int'],
  ['MERIDIAN_REQUEST_TIMEOUT_MS', 'http.requestTimeoutMs', 'int'],
  ['MERIDIAN_HEADERS_TIMEOUT_MS', 'http.headersTimeoutMs', 'int'],
  ['MERIDIAN_KEEP_ALIVE_TIMEOUT_MS', 'http.keepAliveTimeoutMs', 'int'],
  ['MERIDIAN_METRICS_TOKEN', 'http.metricsToken', 'string'],
  ['MERIDIAN_RATE_LIMIT_PER_ADDRESS', 'rateLimit.perAddressPerMinute', 'int'],
  ['MERIDIAN_RATE_LIMIT_PER_KEY', 'rateLimit.perKeyPerMinute', 'int'],
  ['MERIDIAN_RATE_LIMIT_FAILED_AUTH', 'rateLimit.failedAuthPerMinute', 'int'],
  ['MERIDIAN_MEETINGS_PER_APP', 'meetings.maxPerApp', 'int'],
  ['MERIDIAN_MEETING_IDLE_TTL_SECONDS', 'meetings.idleTtlSeconds', 'int'],
  ['MERIDIAN_CASCADE', 'cascade.enabled', 'bool'],
  ['MERIDIAN_CASCADE_GAIN_MS', 'cascade.gainMs', 'int'],
  ['MERIDIAN_GEOIP_DB', 'geoip.cityDbPath', 'string'],
  ['MERIDIAN_GEOIP_TABLE_DIR', 'geoip.tableDir', 'string'],
  ['MERIDIAN_GEOIP_CACHE_SIZE', 'geoip.cacheSize', 'int'],
  ['MERIDIAN_FALLBACK_LAT', 'geoip.fallback.lat', 'number'],
  ['MERIDIAN_FALLBACK_LON', 'geoip.fallback.lon', 'number'],
  ['MERIDIAN_RANKING_STRATEGY', 'ranking.strategy', 'string'],
  ['MERIDIAN_RANKING_COUNT', 'ranking.count', 'int'],
  ['MERIDIAN_RANKING_EXPLORE', 'ranking.exploreRegions', 'int'],
  ['MERIDIAN_RANKING_PRIOR_WEIGHT', 'ranking.priorWeight', 'number'],
  ['MERIDIAN_LEARNING', 'ranking.learning.enabled', 'bool'],
  ['MERIDIAN_LEARNING_RETENTION_DAYS', 'ranking.learning.retentionDays', 'number'],
  ['MERIDIAN_HEARTBEAT_TIMEOUT_MS', 'nodes.heartbeatTimeoutMs', 'int'],
  ['MERIDIAN_TOKEN_SECRET', 'tokens.secret', 'string'],
  ['MERIDIAN_TOKEN_TTL_SECONDS', 'tokens.ttlSeconds', 'int'],
  ['MERIDIAN_DEFAULT_REGIONS', 'regions.defaults', 'list'],
  ['MERIDIAN_NODE_ID', 'sfu.nodeId', 'string'],
  ['MERIDIAN_NODE_KEY', 'sfu.nodeKey', 'string'],
  ['MERIDIAN_SFU_CAPACITY', 'sfu.capacity', 'int'],
  ['MERIDIAN_SFU_GRACE_MS', 'sfu.graceMs', 'int'],
  ['MERIDIAN_SFU_PORT', 'sfu.port', 'int'],
  ['MERIDIAN_SFU_PUBLIC_URL', 'sfu.publicUrl', 'string'],
  ['MERIDIAN_ICE_ADDRESS', 'sfu.iceAddress', 'string'],
  ['MERIDIAN_SFU_MAX_CONNECTIONS_PER_ADDRESS', 'sfu.maxConnectionsPerAddress', 'int'],
  ['MERIDIAN_EMBEDDED_SFU_REGIONS', 'sfu.embeddedRegions', 'list'],
  ['MERIDIAN_AUTOSCALER', 'autoscaler.enabled', 'bool'],
  ['MERIDIAN_AUTOSCALER_POLICY', 'autoscaler.policy', 'string'],
  ['MERIDIAN_AUTOSCALER_PROVIDER', 'autoscaler.provider', 'string'],
  ['MERIDIAN_AUTOSCALER_REGIONS', 'autoscaler.regions', 'list'],
  ['MERIDIAN_AUTOSCALER_MIN_NODES', 'autoscaler.minNodes', 'int'],
  ['MERIDIAN_AUTOSCALER_MAX_NODES', 'autoscaler.maxNodes', 'int'],
  ['MERIDIAN_AUTOSCALER_HEADROOM', 'autoscaler.headroom', 'number'],
  ['MERIDIAN_AUTOSCALER_SYNC_MS', 'autoscaler.syncIntervalMs', 'int'],
  ['MERIDIAN_AUTOSCALER_SCALE_UP_COOLDOWN_MS', 'autoscaler.scaleUpCooldownMs', 'int'],
  ['MERIDIAN_AUTOSCALER_SCALE_DOWN_COOLDOWN_MS', 'autoscaler.scaleDownCooldownMs', 'int'],
  ['MERIDIAN_AUTOSCALER_NODE_START_TIMEOUT_MS', 'autoscaler.nodeStartTimeoutMs', 'int'],
  ['MERIDIAN_AUTOSCALER_DRAIN_STALE_MS', 'autoscaler.drainStaleMs', 'int'],
  ['MERIDIAN_AUTOSCALER_HORIZON_MS', 'autoscaler.predictive.horizonMs', 'int'],
];

function parseEnv(name: string, key: string, kind: EnvKind, raw: string): unknown {
  const fail = (what: string): never => {
    throw new ConfigError(key, `${name}=${JSON.stringify(raw)} is not ${what}`);
  };
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return fail('a boolean');
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : fail('an integer');
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : fail('a number');
    }
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** A partial config, as given by a file or by code. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> | Config[K] : Config[K] };

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Path to a JSON config file; defaults to `MERIDIAN_CONFIG`. */
  file?: string;
  overrides?: ConfigOverrides | Record<string, unknown>;
}

/** Builds, validates and freezes the configuration. Throws {@link ConfigError}. */
export function loadConfig(opts: LoadConfigOptions = {}): Readonly<Config> {
  const env = opts.env ?? process.env;
  let merged: unknown = structuredClone(DEFAULTS);

  const file = opts.file ?? env.MERIDIAN_CONFIG;
  let fileConfig: unknown;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError('MERIDIAN_CONFIG', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new ConfigError('MERIDIAN_CONFIG', `${file} must hold a JSON object`);
    merged = deepMerge(merged, parsed);
    fileConfig = parsed;
  }

  const fromEnv: Record<string, unknown> = {};
  for (const [name, key, kind] of ENV_VARS) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(fromEnv, key, parseEnv(name, key, kind, raw));
  }
  merged = deepMerge(merged, fromEnv);
  if (opts.overrides) merged = deepMerge(merged, opts.overrides);

  // Some defaults depend on the deployment (deploymentMode.ts): the demo route, the listen
  // address and the nodes' media address. A value any source gives wins.
  const sources = [opts.overrides, fromEnv, fileConfig];
  const given = (section: string | undefined, key: string): boolean =>
    sources.some((src) => {
      const where = isPlainObject(src) && section !== undefined ? src[section] : src;
      return isPlainObject(where) && where[key] !== undefined;
    });
  if (isPlainObject(merged)) {
    const mode = deploymentMode(merged as Pick<Config, 'transporter'>);
    if (!given('http', 'demo') && isPlainObject(merged.http)) merged.http.demo = DEMO_BY_DEFAULT[mode];
    if (!given(undefined, 'host')) merged.host = HOST_BY_DEFAULT[mode];
    if (!given('sfu', 'iceAddress') && isPlainObject(merged.sfu) && typeof merged.host === 'string') merged.sfu.iceAddress = defaultIceAddress(mode, merged.host);
  }

  const problem = firstSettingProblem(ConfigSchema, merged);
  if (problem) throw new ConfigError(problem.key, problem.unknownKey ? 'unknown setting' : `${problem.message} (got ${JSON.stringify(problem.value)})`);
  const scaler = (merged as Config).autoscaler;
  if (scaler.minNodes > scaler.maxNodes) {
    throw new ConfigError('autoscaler.minNodes', `must not exceed autoscaler.maxNodes (got minNodes ${scaler.minNodes} > maxNodes ${scaler.maxNodes})`);
  }
  const http = (merged as Config).http;
  if (http.headersTimeoutMs > http.requestTimeoutMs) {
    throw new ConfigError('http.headersTimeoutMs', `must not exceed http.requestTimeoutMs (got ${http.headersTimeoutMs} > ${http.requestTimeoutMs})`);
  }
  return deepFreeze(merged as Config);
}
