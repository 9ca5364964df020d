/** /v1/tokens: list, create and revoke scoped tokens, through the same use cases as `xi-exec token`. */
import {createToken, listTokens, revokeToken} from '../core/tokens.js';
import {selectorValues} from '../policy/selector.js';
import {tokenCaller} from './caller-scope.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import * as s from './schemas.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/tokens', access: 'admin', operationId: 'listTokens', tag: 'tokens',
		summary: 'Tokens (never the tokens themselves)',
		schema: {response: {200: s.tokenListSchema, ...errorResponses}},
	},
	{
		method: 'POST', url: '/v1/tokens', access: 'admin', operationId: 'createToken', tag: 'tokens',
		summary: 'Create a scoped token; it is shown in this answer only',
		schema: {body: s.tokenCreateBodySchema, response: {201: s.tokenCreatedSchema, ...errorResponses}},
	},
	{
		method: 'DELETE', url: '/v1/tokens/:name', access: 'admin', operationId: 'revokeToken', tag: 'tokens',
		summary: 'Revoke a token: it stops working on the next call, on every host',
		schema: {params: s.tokenParamsSchema, response: {200: s.tokenRevokedSchema, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async listTokens() {
			return {tokens: await listTokens({paths: ports.paths, now: ports.now()})};
		},

		async createToken(request, reply, caller) {
			const body = request.body as {name: string; scripts: string[]; on: string | string[]; expires?: string; operator?: boolean};
			const {token, id, name, scripts, on, expiresAt, operator} = await createToken(
				{paths: ports.paths, now: ports.now(), audit: ports.audit},
				{name: body.name, scripts: body.scripts, on: selectorValues(body.on), expires: body.expires, ...(body.operator ? {operator: true} : {})},
				{caller: `api:${tokenCaller(caller).scope.name}`, source: request.ip},
			);
			reply.code(201);
			return {token, id, name, scripts, on, expiresAt, operator};
		},

		async revokeToken(request, _reply, caller) {
			const {name} = request.params as {name: string};
			await revokeToken({paths: ports.paths, now: ports.now(), audit: ports.audit}, name, {caller: `api:${tokenCaller(caller).scope.name}`, source: request.ip});
			return {name, revoked: true};
		},
	};
}

export const tokenRoutes: RouteFile = {routes, handlers};
