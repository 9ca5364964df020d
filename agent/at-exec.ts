/**
 * What the agent process held at exec, read before any other module of the agent loads:
 * agent/cli.ts imports this module first, so its body runs first (an ES module's imports are
 * evaluated in order, and the release's CommonJS bundle keeps that order). `start` closes these
 * (inherited-descriptors.ts says why they must be read this early: before node:tls loads).
 *
 * agent/start.ts does not import it first, because in an ES module graph that would not be early
 * enough: node loads every builtin a static graph imports (node:tls among them, through server.ts)
 * when it links the graph, before any module's body runs, so this module would list the
 * descriptors after node:tls loaded whatever its place among start.ts's imports (measured:
 * test/security/at-exec-order.test.ts). agent/cli.ts reaches start.ts only through a dynamic
 * import, so its listing comes first. An embedding that calls startAgent must do the same: load
 * this module in an evaluation of its own before it imports agent/start.js (`node
 * --import=xi-exec/dist/agent/at-exec.js`, or `await import` it first). The bench's hosts import
 * start.ts only for its log and never close descriptors.
 */
import {descriptorsAtExec} from './inherited-descriptors.js';

export const inheritedAtExec = descriptorsAtExec();
