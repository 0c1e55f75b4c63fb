/** A bare WebSocket on a node's relay path, to present forged or wrong tokens and bad frames. */
import WebSocket from 'ws';
import { relayUrlOf } from '../../../../src/media/cascade/relayProtocol.js';

/** What a node answered to one relay attempt: its messages and the close code. */
export interface RelayAttempt {
  readonly messages: Array<Record<string, unknown>>;
  readonly closeCode: number;
}

/** Opens `<url>/relay`, sends `frames` in order, and resolves once the node closed the socket. */
export function attemptRelay(signalingUrl: string, frames: ReadonlyArray<string | Buffer>, timeoutMs = 5_000): Promise<RelayAttempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relayUrlOf(signalingUrl));
    const messages: Array<Record<string, unknown>> = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`the node did not close the relay attempt; got ${JSON.stringify(messages)}`));
    }, timeoutMs);
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    ws.on('error', () => {});
    ws.once('open', () => {
      for (const f of frames) ws.send(f, { binary: Buffer.isBuffer(f) });
    });
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve({ messages, closeCode: code });
    });
  });
}
