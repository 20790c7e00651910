// `spacetime-host`: the embedded SpacetimeDB-compatible host, with a CLI modelled on `spacetime`.
//   start     --module <entry|folder> --name <db> [--port 3000] [--data-dir DIR] [--trusted-issuer URL]...
//   generate  --module <entry|folder> --out-dir <dir>
//   describe  --module <entry|folder> [--json]
//   hash      --data-dir DIR [--module <entry|folder>]
//   sql       --server <url> --name <db> [--token T] "<query>"
//   call      --server <url> --name <db> [--token T] <reducer> [json-args]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage:
  spacetime-host start --module <entry|folder> --name <database> [--port 3000] [--data-dir DIR] [--trusted-issuer URL]...
                       [--snapshot-every N] [--group-commit-ms MS] [--compress]
  spacetime-host generate --module <entry|folder> --out-dir <dir>
  spacetime-host describe --module <entry|folder> [--json]
  spacetime-host hash --data-dir DIR [--module <entry|folder>]
  spacetime-host sql --server <url> --name <database> [--token TOKEN] "<query>"
  spacetime-host call --server <url> --name <database> [--token TOKEN] <reducer> [json-args]`;

function fail(message: string): never {
  process.stderr.write(`spacetime-host: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      module: { type: 'string' },
      name: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'group-commit-ms': { type: 'string' },
      'snapshot-every': { type: 'string' },
      compress: { type: 'boolean' },
      'trusted-issuer': { type: 'string', multiple: true },
      'out-dir': { type: 'string' },
      json: { type: 'boolean' },
      server: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (!command || values.help || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  switch (command) {
    case 'start': {
      if (!values.module || !values.name) fail('start needs --module and --name');
      const port = values.port === undefined ? 3000 : Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${values.port}`);
      const { startHost } = await import('../src/host');
      const host = await startHost({
        module: values.module,
        name: values.name,
        port,
        host: values.host,
        dataDir: values['data-dir'],
        trustedIssuers: values['trusted-issuer'] ?? [],
        groupCommitMs: values['group-commit-ms'] === undefined ? undefined : Number(values['group-commit-ms']),
        snapshotEvery: values['snapshot-every'] === undefined ? undefined : Number(values['snapshot-every']),
        compress: values.compress ?? false,
      });
      if (values['data-dir'] && host.ownerToken) {
        writeFileSync(join(values['data-dir'], 'owner-token'), host.ownerToken, { mode: 0o600 });
      }
      const stop = () => {
        host.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Announce readiness only once a stop signal would be handled (stdout to a pipe is synchronous).
      process.stdout.write(`listening on ${host.url}\n`);
      return;
    }
    case 'generate': {
      if (!values.module || !values['out-dir']) fail('generate needs --module and --out-dir');
      const { loadModuleCatalog } = await import('../src/module/describe');
      const { writeBindings } = await import('../src/codegen/index');
      const catalog = await loadModuleCatalog(values.module);
      await writeBindings(catalog, values['out-dir']);
      process.stdout.write(`wrote bindings to ${values['out-dir']}\n`);
      return;
    }
    case 'hash': {
      if (!values['data-dir']) fail('hash needs --data-dir');
      const { hashDataDir } = await import('../src/host');
      const { hash, report } = await hashDataDir({ dataDir: values['data-dir'], module: values.module });
      if (report.cut) process.stderr.write(`cut a torn log tail: ${report.cut.droppedBytes} bytes at ${report.cut.segment}:${report.cut.offset} (${report.cut.reason})\n`);
      process.stdout.write(`${hash}\n`);
      return;
    }
    case 'describe': {
      if (!values.module) fail('describe needs --module');
      const { loadModuleCatalog } = await import('../src/module/describe');
      const { describeModule } = await import('../src/codegen/describe');
      const d = describeModule(await loadModuleCatalog(values.module));
      process.stdout.write(`${JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), values.json ? 0 : 2)}\n`);
      return;
    }
    case 'sql':
    case 'call': {
      if (!values.server || !values.name) fail(`${command} needs --server and --name`);
      const base = `${values.server.replace(/\/$/, '')}/v1/database/${encodeURIComponent(values.name)}`;
      const headers: Record<string, string> = { 'Content-Type': command === 'sql' ? 'text/plain' : 'application/json' };
      if (values.token) headers.Authorization = `Bearer ${values.token}`;
      const [first, second] = positionals;
      if (!first) fail(command === 'sql' ? 'sql needs a query' : 'call needs a reducer name');
      const url = command === 'sql' ? `${base}/sql` : `${base}/call/${encodeURIComponent(first)}`;
      const body = command === 'sql' ? first : (second ?? '[]');
      const res = await fetch(url, { method: 'POST', headers, body });
      const text = await res.text();
      if (!res.ok) fail(`${res.status}: ${text}`);
      if (command === 'sql') {
        const [result] = JSON.parse(text) as { schema: { elements: { name: string }[] }; rows: unknown[][] }[];
        const cols = result!.schema.elements.map((e) => e.name);
        process.stdout.write(`${cols.join(' | ')}\n`);
        for (const row of result!.rows) process.stdout.write(`${row.map((v) => JSON.stringify(v)).join(' | ')}\n`);
      }
      return;
    }
    default:
      fail(`unknown command ${command}\n${USAGE}`);
  }
}

main().catch((e) => fail(e instanceof Error ? e.message : String(e)));
