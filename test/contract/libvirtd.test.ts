// The admin contract against a private, real libvirtd 9.0.0 started by the harness.
import { startRealDaemons } from '../harness/libvirtd.js';
import { defineAdminContract, type AdminTarget } from './admin-contract.js';

/** A fresh libvirtd as a contract target. */
async function startLibvirtd(): Promise<AdminTarget> {
  const daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  return {
    adminUri: daemons.adminUri('libvirtd'),
    clientSocket: daemons.clientSocket,
    readOnlyClientSocket: daemons.readOnlyClientSocket,
    virtAdmin: (...args) => daemons.virtAdmin('libvirtd', ...args),
    stop: () => daemons.stop(),
  };
}

defineAdminContract('libvirtd 9.0.0', startLibvirtd);
