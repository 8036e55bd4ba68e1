// The same admin contract against the embedded daemon (src/daemon), driven by the real virt-admin, in each of the
// libvirt versions it can claim.
import { startEmbeddedDaemon } from '../harness/embedded.js';
import { defineAdminContract } from './admin-contract.js';

defineAdminContract('embedded daemon', async () => ({ generation: '9', ...(await startEmbeddedDaemon()) }));
defineAdminContract('embedded daemon claiming 11.3.0', async () => ({
  generation: '11',
  ...(await startEmbeddedDaemon({ version: '11.3.0' })),
}));
