/**
 * The REST API's route files. The server registers every route of every file listed in
 * `routeFiles` (behind the one authentication hook, each validated against its schemas), and
 * /openapi.json publishes exactly these. A new resource gets its own `NAME-routes.ts` exporting a
 * `RouteFile` (its routes with their schemas, and its handlers) and one entry here.
 */
import {agentRoutes} from './agent-routes.js';
import {approvalRoutes} from './approval-routes.js';
import {auditRoutes} from './audit-routes.js';
import {policyRoutes} from './policy-routes.js';
import type {RouteFile} from './route-file.js';
import type {RouteSpec} from './route-spec.js';
import {runRoutes} from './run-routes.js';
import {createRunbookHandlers, runbookOperations, runbookRoutes} from './runbook-routes.js';
import {serviceRoutes} from './service-routes.js';
import {tokenRoutes} from './token-routes.js';

/** The core resources: the contract test (test/api/prism-proxy.test.ts) walks each of their routes. */
export const coreRouteFiles: readonly RouteFile[] = [serviceRoutes, agentRoutes, runRoutes, auditRoutes, tokenRoutes, policyRoutes];

/** Every route file the server registers. */
export const routeFiles: readonly RouteFile[] = [
	...coreRouteFiles,
	{routes: runbookRoutes, handlers: createRunbookHandlers, extraPaths: ports => runbookOperations(ports.paths)},
	approvalRoutes,
];

/** The core resources' routes. */
export const routes: readonly RouteSpec[] = coreRouteFiles.flatMap(file => file.routes);

/** Every registered route. */
export const allRoutes: readonly RouteSpec[] = routeFiles.flatMap(file => file.routes);
