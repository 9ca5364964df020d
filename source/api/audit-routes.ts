/** GET /v1/audit: the controller's audit records, filtered by request, agent or age. */
import {listAuditRecords} from '../core/audit.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/audit', access: 'admin', operationId: 'listAudit', tag: 'audit',
		summary: 'The controller\'s audit records, filtered by request, agent or age',
		schema: {querystring: s.auditQuerySchema, response: {200: s.auditListSchema, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async listAudit(request) {
			const query = request.query as {request?: string; agent?: string; since?: string; limit: number};
			const records = listAuditRecords(ports.paths.auditLog, {request: query.request, agent: query.agent, since: query.since}, ports.now());
			return {records: records.slice(-query.limit)};
		},
	};
}

export const auditRoutes: RouteFile = {routes, handlers};
