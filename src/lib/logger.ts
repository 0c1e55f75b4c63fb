import pino, { type Logger, type LevelWithSilent } from 'pino';

/** The root logger; modules take `logger.child({ module, region, nodeId, … })`. */
export function createLogger(level: LevelWithSilent, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
export type { Logger };
