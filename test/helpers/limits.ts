/**
 * The gateway's request limits and quotas (docs/security.md), lifted for tests and
 * benchmarks that load it from one loopback address on purpose (bursts of joins, load
 * ramps, rejoin loops). Tests of the limits themselves set their own values.
 */

/** As environment variables, for spawned `meridian` processes. */
export const UNLIMITED_ENV = {
  MERIDIAN_RATE_LIMIT_PER_ADDRESS: '0',
  MERIDIAN_RATE_LIMIT_PER_KEY: '0',
  MERIDIAN_RATE_LIMIT_FAILED_AUTH: '0',
  MERIDIAN_DEMO_JOINS_PER_MINUTE: '1000000',
  MERIDIAN_DEMO_MAX_MEETINGS: '1000000',
  MERIDIAN_MEETINGS_PER_APP: '100000000',
} as const;

/** As `loadConfig` overrides, for in-process platforms (spread first; a test's own sections win). */
export const UNLIMITED_OVERRIDES = {
  rateLimit: { perAddressPerMinute: 0, perKeyPerMinute: 0, failedAuthPerMinute: 0 },
  http: { demoJoinsPerMinute: 1_000_000, demoMaxMeetings: 1_000_000 },
  meetings: { maxPerApp: 100_000_000 },
} as const;
