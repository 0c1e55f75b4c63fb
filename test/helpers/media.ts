/**
 * Loopback-only media settings shared by every test and benchmark that starts a media node,
 * a test client or a browser: test traffic stays on 127.0.0.0/8. The guard test
 * (test/unit/media/loopback.test.ts) fails when a media configuration in test/ or bench/
 * does not use these, and the media tests check the candidates actually announced.
 */

/** The only address media in tests binds to and announces. */
export const LOOPBACK_ICE_ADDRESS = '127.0.0.1';

/** `sfu.iceAddress` / `MERIDIAN_ICE_ADDRESS` for a process started by a test. */
export const LOOPBACK_ICE_ENV = { MERIDIAN_ICE_ADDRESS: LOOPBACK_ICE_ADDRESS } as const;

/** The engine's ICE settings (`SfuNodeOptions.ice`) for a node started in a test. */
export const LOOPBACK_ICE = { bindAddress: LOOPBACK_ICE_ADDRESS } as const;

/** node-datachannel settings of a test or benchmark client. */
export const LOOPBACK_PEER_CONFIG = { iceServers: [] as string[], bindAddress: LOOPBACK_ICE_ADDRESS, disableAutoNegotiation: true } as const;

/**
 * Chromium switches every browser test needs: fake devices, and loopback candidates (without
 * `--allow-loopback-in-peer-connection` Chromium offers none, and the call would go over
 * this machine's other interfaces).
 */
export const LOOPBACK_CHROMIUM_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--headless',
  '--disable-background-networking',
] as const;

/** Addresses of the `a=candidate` lines of an SDP (host, srflx, relay alike). */
export function candidateAddresses(sdp: string): string[] {
  return sdp
    .split(/\r?\n/)
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.split(' ')[4]!);
}

/** True when every candidate of the SDP is on 127.0.0.0/8 (and there is at least one). */
export function announcesLoopbackOnly(sdp: string): boolean {
  const addresses = candidateAddresses(sdp);
  return addresses.length > 0 && addresses.every((a) => /^127\.\d+\.\d+\.\d+$/.test(a));
}
