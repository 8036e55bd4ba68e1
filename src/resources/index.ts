import { clientLimits } from './client-limits.js';
import { logging } from './logging.js';
import type { AnySettingsResource } from './resource.js';
import { threadpool } from './threadpool.js';

/** The settings resources of each server, in the order events about one server are reported. */
export const SERVER_RESOURCES: readonly AnySettingsResource[] = [threadpool, clientLimits];

/** The settings resources of each daemon. */
export const DAEMON_RESOURCES: readonly AnySettingsResource[] = [logging];
