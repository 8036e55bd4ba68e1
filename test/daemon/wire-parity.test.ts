// The embedded daemon answers hand-made frames byte for byte like the real libvirtd 9.0.0 (./wire-parity-suite.ts).
import { defineWireParity } from './wire-parity-suite.js';

defineWireParity('9');
