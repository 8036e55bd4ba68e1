// What this test process holds: open descriptors and live heap, for "back to baseline" checks after faults.
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
// A fresh context sees the gc function the flag exposes; the main context was created before the flag was set.
const gc = runInNewContext('gc') as () => void;

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Bytes of live heap after two full collections. */
export function liveHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
