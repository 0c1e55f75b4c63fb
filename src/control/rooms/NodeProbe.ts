/**
 * The control plane's own check of a meeting node that clients report unreachable while it
 * still heartbeats. A plain HTTP GET to the node's signaling URL: a working node answers at
 * once (426 on the signaling path), a hung one (process stopped, event loop wedged) accepts
 * the TCP connection in the kernel's backlog but never answers, so a short timeout decides.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Answers "does this node answer at all?". */
export interface NodeProbe {
  /** True when the node at `url` (its `ws://` or `wss://` signaling URL) answered in time. */
  probe(url: string): Promise<boolean>;
}

/** Default probe timeout: well above a healthy node's answer (≈1 ms), well below a client's patience. */
export const DEFAULT_PROBE_TIMEOUT_MS = 700;

/** An HTTP probe with a timeout; any HTTP answer (whatever its status) counts as alive. */
export function httpNodeProbe(timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): NodeProbe {
  return {
    probe(url) {
      let target: URL;
      try {
        target = new URL(url.replace(/^ws/, 'http'));
      } catch {
        return Promise.resolve(false);
      }
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<boolean>((resolve) => {
        let done = false;
        const finish = (alive: boolean) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          req.destroy();
          resolve(alive);
        };
        const req = request(target, { method: 'GET', headers: { connection: 'close' }, agent: false }, (res) => {
          res.resume();
          finish(true);
        });
        req.on('error', () => finish(false));
        const timer = setTimeout(() => finish(false), timeoutMs);
        req.end();
      });
    },
  };
}
