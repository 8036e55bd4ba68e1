import { closeSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { LogDestination, type VirLogOutput } from '../admin/logging/outputs.js';
import { systemError } from './errors.js';

/**
 * Where the lines of one log output go (virLogOutput's callback in src/util/virlog.c). libvirt writes a version
 * and a hostname line before the first message an output receives; `fresh` tracks that.
 */
export interface LogSink {
  readonly output: VirLogOutput;
  /** True until the first line was written (libvirt's logInitMessage). */
  fresh: boolean;
  write(line: string): void;
  close(): void;
}

/** Streams the sinks may write to; injectable so tests can capture stderr. */
export interface SinkStreams {
  stderr: Writable;
}

/**
 * Opens the sink of an output. A file is opened at once, as libvirt does while parsing the output, in append mode
 * with mode 0600; failing to open it is the daemon's error 38 `failed to open <path>: <strerror>`.
 *
 * syslog and journald are accepted, listed and counted like in libvirtd, but their lines go nowhere: both need a
 * unix datagram socket (/dev/log, /run/systemd/journal/socket), which Node cannot open. libvirtd itself never
 * reports an error for either (syslog's openlog and journald's unconnected socket cannot fail).
 */
export function openSink(output: VirLogOutput, streams: SinkStreams): LogSink {
  switch (output.destination) {
    case LogDestination.FILE:
      return fileSink(output);
    case LogDestination.STDERR:
      return { output, fresh: true, write: (line) => void streams.stderr.write(line), close: () => {} };
    case LogDestination.SYSLOG:
    case LogDestination.JOURNALD:
      return { output, fresh: true, write: () => {}, close: () => {} };
  }
}

function fileSink(output: VirLogOutput): LogSink {
  const path = output.path ?? '';
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (err) {
    throw systemError(err as NodeJS.ErrnoException, `failed to open ${path}`);
  }
  let open = true;
  return {
    output,
    fresh: true,
    write(line) {
      if (!open) return;
      try {
        writeSync(fd, line);
      } catch {
        // libvirt ignores write errors of its log outputs (a full disk must not stop the daemon).
      }
    },
    close() {
      if (!open) return;
      open = false;
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    },
  };
}
