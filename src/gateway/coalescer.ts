/**
 * Request coalescing: identical reads made while one is pending share that one call. An entry lives only while
 * its call is pending, so nothing is ever served from a finished result; a later read makes a fresh call.
 */
export class Coalescer {
  private readonly pending = new Map<string, Promise<unknown>>();
  private joinedCount = 0;

  /** Reads that joined a pending call instead of making their own, since creation. */
  get joined(): number {
    return this.joinedCount;
  }

  /** Keys with a call pending now. */
  get size(): number {
    return this.pending.size;
  }

  /** The pending call for `key`, or a new one made by `start`. */
  run<T>(key: string, start: () => Promise<T>): Promise<T> {
    const existing = this.pending.get(key);
    if (existing) {
      this.joinedCount++;
      return existing as Promise<T>;
    }
    const call = start();
    this.pending.set(key, call);
    const forget = () => {
      if (this.pending.get(key) === call) this.pending.delete(key);
    };
    call.then(forget, forget);
    return call;
  }

  /**
   * Let no later read join a call made so far. Called around every write, so a read that starts after a write
   * finished never gets an answer the daemon computed before that write.
   */
  invalidate(): void {
    this.pending.clear();
  }
}
