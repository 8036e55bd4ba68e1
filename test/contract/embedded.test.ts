// The same admin contract against the embedded daemon (src/daemon), driven by the real virt-admin.
import { startEmbeddedDaemon } from '../harness/embedded.js';
import { defineAdminContract } from './admin-contract.js';

defineAdminContract('embedded daemon', async () => ({ generation: '9', ...(await startEmbeddedDaemon()) }));
