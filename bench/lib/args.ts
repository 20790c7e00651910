// Command-line flags shared by the scripts: `--quick` for a short run, and numeric overrides.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(options: O, usage: string) {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if ((values as { help?: boolean }).help) {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}

/** A positive number from a flag, or the fallback; exits with a clear message on anything else. */
export function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`--${flag} must be a positive number, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

export function positiveList(value: string | undefined, flag: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return value.split(',').map((v) => positive(v.trim(), flag, NaN));
}
