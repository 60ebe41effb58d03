export type { ParsedCommand } from './commands.js';
export { DEFAULT_DENIED_COMMANDS } from './commands.js';
export type { FaultController, FaultKind, FaultSpec } from './faults.js';
export type {
  ExecutedCommand,
  RequestCounts,
  UpstashTestServer,
  UpstashTestServerOptions,
} from './server.js';
export { createUpstashTestServer } from './server.js';
