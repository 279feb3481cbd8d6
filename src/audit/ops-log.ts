/**
 * The operational log (start, reload, errors): a plain pino logger on stderr, separate from
 * the decision log so the decision stream stays one line shape. Synchronous writes: these
 * lines are rare and a fatal message must reach the terminal before the process exits.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type OpsLogger = Logger;

export function createOpsLogger(level: LogLevel, destination?: DestinationStream): OpsLogger {
  return pino(
    {
      level,
      base: { name: 'mandate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
