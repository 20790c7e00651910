// What the figures were measured on, printed with every table.
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${new Date().toISOString().slice(0, 10)} · nproc ${availableParallelism()} (${cpu.trim()}) · ${gib} GiB · Node ${process.version} · ${process.platform} · load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at start (the machine is shared)`;
}
