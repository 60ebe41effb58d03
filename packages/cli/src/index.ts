export type { Connection, ConnectionFlags } from './connect.js';
export { connect } from './connect.js';
export type { DemoFleet, DemoFleetOptions } from './demo-fleet.js';
export { DEMO_SECRET, startDemoFleet } from './demo-fleet.js';
export { EXIT } from './exit.js';
export type { Io } from './output.js';
export { formatTable } from './output.js';
export type { RunContext } from './program.js';
export { run } from './program.js';
