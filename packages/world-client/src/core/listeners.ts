import type { Logger } from './logger';

/**
 * A set of callbacks. A throwing listener is logged and skipped, so one bad subscriber
 * cannot stop the others or the state machine that emits.
 */
export class Listeners<Args extends unknown[]> {
  readonly #callbacks = new Set<(...args: Args) => void>();

  constructor(
    private readonly what: string,
    private readonly logger?: Logger,
  ) {}

  add(callback: (...args: Args) => void): () => void {
    this.#callbacks.add(callback);
    return () => this.#callbacks.delete(callback);
  }

  emit(...args: Args): void {
    for (const callback of [...this.#callbacks]) {
      try {
        callback(...args);
      } catch (error) {
        this.logger?.error({ err: error instanceof Error ? error.message : String(error) }, `${this.what} listener threw`);
      }
    }
  }

  get size(): number {
    return this.#callbacks.size;
  }
}
