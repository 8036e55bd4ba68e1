// The log corpus (./log-corpus.ts) against the embedded daemon.
import { startEmbeddedLogTarget } from '../harness/log-targets.js';
import { defineLogCorpus } from './log-corpus.js';

defineLogCorpus(startEmbeddedLogTarget);
