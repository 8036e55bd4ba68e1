// One embedded daemon in a process of its own, for the fleet benchmark (bench/fleet.ts): the gateway runs the same
// daemon in-process, but a daemon that shares the gateway's process cannot be SIGKILLed and restarted on its own.
// Usage: node fleet-daemon.mjs <admin socket path> (bundled by bench/lib/fleet.ts with esbuild, so no tsx is
// loaded into each of the fleet's processes). Prints "ready" on stdout once the three sockets listen; SIGTERM
// stops it cleanly.
import { EmbeddedDaemon } from '../../src/daemon/index.js';

const socket = process.argv[2];
if (socket === undefined) {
  process.stderr.write('usage: fleet-daemon <admin socket path>\n');
  process.exit(2);
}

const daemon = await EmbeddedDaemon.start({ adminSocketPath: socket });
// The daemon timeout (admin API) would stop it when idle; the process ends with it, as libvirtd's does.
daemon.once('timeout', () => process.exit(0));
daemon.once('shutdown', () => process.exit(0));
process.once('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
process.stdout.write('ready\n');
