/**
 * Xi-Exec as a library, for embedding the controller in another Node program: the use cases
 * every face calls (ARCHITECTURE.md, "The layers"), the controller's home, and the one error
 * class with its registry of codes. Each use case takes its ports (stores, audit log, TLS
 * context, clock) as parameters and returns data or throws an XiError; the faces in this package
 * (the CLI, the console, the REST API, MCP) are built the same way. `package.json` exports this
 * module as `xi-exec` (built to dist/source/index.js; test/architecture/library-entry.test.ts
 * imports it by that name).
 */
export {resolvePlan, checkRunInput, type PlanPorts, type RunRequest} from './core/run-plan.js';
export {executePlan, type ExecutePorts, type RunExecution, type RunOutcome, type RunPorts, type RunStartOptions} from './core/run-execute.js';
/** A run's outcome keeps counts and the first hosts not ok; a caller that wants every host's result collects them from the run's events. */
export {allOk, type HostEnd, type RunSummary} from './run/run-summary.js';
export {collectResults, type ResultCollector} from './run/collect-results.js';
export {cancelRecordedRun, type CancelPorts} from './core/cancel-run.js';
export {viewAgents, agentViews, agentView, presenceText, seenText, type AgentView, type AgentsViewPorts} from './core/agents-view.js';
export type {RelayPresence} from './registry/presence-state.js';
export {auditView, listAuditRecords, verifyAudit, type AuditFilter} from './core/audit.js';
export {createToken, listTokens, revokeToken, type CreatedToken, type TokenPorts, type TokenView} from './core/tokens.js';
export {controllerPaths, initControllerHome, loadControllerCredentials, openControllerRegistry, type ControllerPaths} from './home.js';
export {XiError, errorCodes, isXiError, type ErrorCode} from './errors.js';
