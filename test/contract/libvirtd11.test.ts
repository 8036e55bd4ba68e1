// The admin contract against a private, real libvirtd 11.3.0 (Debian 13's, chrooted in the root that
// scripts/install-libvirt11.sh caches). Where 11.3 differs from 9.0.0 the contract checks each generation's
// own behaviour; docs/libvirt-versions.md lists the differences.
import { defineAdminContract } from './admin-contract.js';
import { realLibvirtdTarget } from './contract-helpers.js';

defineAdminContract('libvirtd 11.3.0', () => realLibvirtdTarget('11'));
