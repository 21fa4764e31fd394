import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config/config.js';

/** pino-pretty (and its dependencies) only for pretty output: a JSON process never loads it. */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

export type { Logger };

/**
 * The stream every line of this process goes through. Pretty mode formats synchronously so
 * that worker lines relayed by the supervisor and its own lines come out whole and in order.
 */
export function logDestination(format: LogFormat): DestinationStream {
  if (format === 'pretty') {
    return loadPretty()({
      colorize: Boolean(process.stdout.isTTY),
      sync: true,
      ignore: 'pid,hostname,role,host,name,worker',
      messageFormat: '{if worker}[{worker}] {end}{msg}',
    });
  }
  return pino.destination({ dest: 1, sync: true });
}

export function createLogger(
  options: { level: LogLevel; format: LogFormat; name: string; base?: Record<string, unknown> },
  destination: DestinationStream = logDestination(options.format),
): Logger {
  return pino(
    {
      level: options.level,
      name: options.name,
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
