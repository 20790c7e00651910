#!/usr/bin/env -S node --import tsx
// autopilot-node: headless autopilots (see --help). Run with tsx.
import { runCli } from '../src/node/cli';

// The SDK logs (even its errors) with console.log; stdout carries only our "joined" lines.
console.log = (...args: unknown[]) => console.error(...args);

const code = await runCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  onSignal: (handler) => {
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  },
});
process.exit(code);
