import pino, { type Logger, type LevelWithSilent } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * How log lines look: `json` (one pino JSON object a line, for collectors), `pretty`
 * (pino-pretty: time, level, message and fields, for a person at a terminal), or `auto`:
 * pretty when stdout is a terminal, JSON otherwise.
 */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether `format` means pretty lines in this process. */
export function isPretty(format: LogFormat, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return format === 'pretty' || (format === 'auto' && stdout.isTTY === true);
}

/**
 * The root logger; modules take `logger.child({ module, region, nodeId, … })`. Pretty output
 * is written synchronously, so the last lines before an exit are not lost.
 */
export function createLogger(level: LevelWithSilent, bindings: Record<string, unknown> = {}, format: LogFormat = 'auto'): Logger {
  const options = { level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!isPretty(format)) return pino(options);
  const stream = pinoPretty({ colorize: pinoPretty.isColorSupported, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true });
  return pino(options, stream);
}

/** The stream `logger` writes to (so the broker's own logger writes there too). */
export function loggerStream(logger: Logger): unknown {
  return (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
}
export type { Logger };
