// The log corpus (./log-corpus.ts) against a private real libvirtd 11.3.0 (Debian 13's, chrooted in the root that
// scripts/install-libvirt11.sh caches), with virt-admin 11.3.
import { startLibvirtd11LogTarget } from '../harness/log-targets.js';
import { defineLogCorpus } from './log-corpus.js';

defineLogCorpus(startLibvirtd11LogTarget);
