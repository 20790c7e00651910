// A FileTransport wrapper that delays every call, result and row delivery by a random time, so rows
// arrive out of order and results race rows: the delivery disorder the property test needs.
import type { FileBatch, FileOpRecord, FileTransport, SendOutcome } from '../../src/core/files/index';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DelayedTransport implements FileTransport {
  constructor(
    readonly inner: FileTransport,
    readonly random: () => number,
    readonly maxDelayMs: number,
  ) {}

  async sendBatch(batch: FileBatch): Promise<SendOutcome> {
    await sleep(this.random() * this.maxDelayMs);
    const outcome = await this.inner.sendBatch(batch);
    await sleep(this.random() * this.maxDelayMs);
    return outcome;
  }

  onOps(listener: (ops: readonly FileOpRecord[]) => void): () => void {
    let active = true;
    const stop = this.inner.onOps((ops) => {
      setTimeout(() => active && listener(ops), this.random() * this.maxDelayMs);
    });
    return () => {
      active = false;
      stop();
    };
  }
}
