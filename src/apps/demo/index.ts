/**
 * The demo app served by the gateway: a page to join a meeting by name (see
 * `registerDemoRoutes`), the route that plays the app backend for it, and the SDK bundle.
 * Owns nothing but HTTP glue: placement is the room manager's, media the node's, and the
 * page's script (`page/`) is browser code bundled by scripts/build-client.mjs.
 */
export { registerDemoRoutes, DemoJoinBody, DEFAULT_ASSETS_DIR, type DemoRouteDeps } from './registerDemoRoutes.js';
export { DEMO_CITIES, demoCity, type DemoCity, type DemoCityId } from './demoCities.js';
