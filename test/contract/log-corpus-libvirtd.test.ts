// The log corpus (./log-corpus.ts) against a private real libvirtd 9.0.0.
import { startLibvirtdLogTarget } from '../harness/log-targets.js';
import { defineLogCorpus } from './log-corpus.js';

defineLogCorpus(startLibvirtdLogTarget);
