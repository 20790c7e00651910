import { pino, type Level, type Logger as PinoLogger } from 'pino';

/** JSON lines on stderr (stdout stays free for the CLI's own lines). */
export function createNodeLogger(level: Level | 'silent' = 'warn', name = 'autopilot-node'): PinoLogger {
  return pino({ name, level }, pino.destination(2));
}
