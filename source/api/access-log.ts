/**
 * One access-log line per answered request (JSON, for journald and jq): when, the request id
 * (also sent back as x-request-id), who called (a token's name, an agent's name, or public), the
 * route as registered (its template, so no ids or query strings), the status, the duration and
 * the source address. Never the token, a header or a body. Pure.
 */
import type {FastifyReply, FastifyRequest} from 'fastify';
import type {Caller} from './auth.js';

export type AccessLine = {ts: string; level: 'info' | 'warn' | 'error'; event: 'request'; requestId: string; caller: string; method: string; route: string; status: number; durationMs: number; source: string};

export function callerName(caller: Caller | undefined): string {
	if (!caller) {
		return 'unauthenticated';
	}

	return caller.kind === 'token' ? `token:${caller.scope.name}` : (caller.kind === 'agent' ? `agent:${caller.agent.name}` : 'public');
}

export function accessLine(request: FastifyRequest, reply: FastifyReply, caller: Caller | undefined, now: Date): AccessLine {
	const status = reply.statusCode;
	return {
		ts: now.toISOString(),
		level: status >= 500 ? 'error' : (status >= 400 ? 'warn' : 'info'),
		event: 'request',
		requestId: String(request.id),
		caller: callerName(caller),
		method: request.method,
		route: request.routeOptions.url ?? 'unknown',
		status,
		durationMs: Math.round(reply.elapsedTime * 10) / 10,
		source: request.ip,
	};
}
