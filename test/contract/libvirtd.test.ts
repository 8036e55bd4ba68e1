// The admin contract against a private, real libvirtd 9.0.0 started by the harness.
import { defineAdminContract } from './admin-contract.js';
import { realLibvirtdTarget } from './contract-helpers.js';

defineAdminContract('libvirtd 9.0.0', () => realLibvirtdTarget('9'));
