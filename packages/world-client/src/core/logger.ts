// The slice of pino's API the core uses, so Node callers pass a pino logger and others pass
// anything with the same shape. Never log tokens, keys or message payloads.

export interface LogFn {
  (message: string): void;
  (fields: Record<string, unknown>, message: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const ignore: LogFn = () => undefined;

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
