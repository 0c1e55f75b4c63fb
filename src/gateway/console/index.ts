/**
 * The operator console (`/console`): login with the admin key into a signed session
 * cookie, a live view of regions, nodes, meetings and autoscaler decisions pushed as
 * server-sent events, per-region time series, and actions forwarded to the admin API with
 * CSRF protection. It owns HTTP and presentation only: everything it shows or does goes
 * through the broker or the admin routes; the page itself is built from
 * `src/apps/console/page` into `dist/client/console`.
 */
export { registerConsole, SESSION_COOKIE, type ConsoleDeps } from './registerConsole.js';
export { ConsoleFeed, type ConsoleSnapshot, type FeedTimers } from './ConsoleFeed.js';
export { ConsoleSessions, type ConsoleSession } from './ConsoleSessions.js';
export { RegionSeries, type RegionSample } from './RegionSeries.js';
