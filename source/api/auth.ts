/**
 * Who is calling: the one global onRequest hook's decision, made before any body is read. A route
 * says how it is reached (`config.access`); a request for anything else (no route, or a route
 * without an access entry) needs a token like any other, so nothing is public by accident.
 *
 *   public   nothing to check
 *   token    a bearer token from the Authorization header, known, not revoked, not expired
 *   admin    such a token whose scope is everything
 *   agent    a client certificate that the fleet CA signed, naming `xi-exec:agent/NAME`, with the
 *            serial the registry holds for NAME (an unpaired or re-paired agent's old one fails)
 */
import type {PeerCertificate, TLSSocket} from 'node:tls';
import type {FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {identityOf} from '../pki/identity.js';
import {certificateFromDer} from '../pki/x509.js';
import {authenticateToken, scopeOf, type TokenRecord, type TokenScope} from '../policy/tokens.js';
import {findAgent, type AgentRecord, type Registry} from '../registry/model.js';
import type {Access} from './route-spec.js';
import {bearerToken, isFullScope, tokenInQuery} from './request-checks.js';

export type Caller =
	| {kind: 'public'}
	| {kind: 'token'; scope: TokenScope; token: string}
	| {kind: 'agent'; agent: AgentRecord};

export type AuthPorts = {
	tokens: () => Promise<readonly TokenRecord[]>;
	registry: () => Promise<Registry>;
	now: () => Date;
};

export async function authenticate(request: FastifyRequest, access: Access | undefined, ports: AuthPorts): Promise<Caller> {
	if (access === 'public') {
		return {kind: 'public'};
	}

	if (access === 'agent') {
		return {kind: 'agent', agent: await authenticateAgent(request.raw.socket as TLSSocket, ports)};
	}

	const inQuery = tokenInQuery(request.query);
	if (inQuery !== undefined) {
		throw new XiError('TOKEN_INVALID', `A token in the URL (query parameter ${JSON.stringify(inQuery)}) is refused, since URLs end up in logs; send it as Authorization: Bearer TOKEN.`);
	}

	const bearer = bearerToken(request.headers.authorization);
	if (!bearer.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${bearer.reason}.`);
	}

	const check = authenticateToken(await ports.tokens(), bearer.token, ports.now());
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	const scope = scopeOf(check.token);
	if (access === 'admin' && !isFullScope(scope)) {
		throw new XiError('OUT_OF_SCOPE', `Token ${scope.name} may not do this: managing tokens and reading the audit trail need a token created with --scripts '*' --on all (its scope is --scripts ${scope.scripts.join(',')} --on ${scope.on.join(' --on ')}).`);
	}

	return {kind: 'token', scope, token: bearer.token};
}

async function authenticateAgent(socket: TLSSocket, ports: AuthPorts): Promise<AgentRecord> {
	const refuse = (reason: string) => new XiError('CLIENT_CERTIFICATE_REQUIRED', `The policy endpoint needs a paired agent's client certificate: ${reason}.`);
	if (typeof socket.getPeerCertificate !== 'function') {
		throw refuse('the connection is not TLS');
	}

	const certificate: PeerCertificate = socket.getPeerCertificate();
	if (!certificate || !certificate.raw) {
		throw refuse('none was presented');
	}

	if (!socket.authorized) {
		throw refuse(`it does not verify against the fleet CA (${String(socket.authorizationError ?? 'unknown reason')})`);
	}

	let named: ReturnType<typeof identityOf>;
	try {
		named = identityOf(certificateFromDer(certificate.raw));
	} catch {
		throw refuse('it cannot be parsed');
	}

	if (!named.ok) {
		throw refuse(named.reason);
	}

	if (named.identity.role !== 'agent') {
		throw refuse(`it names xi-exec:${named.identity.role}, not an agent`);
	}

	const agent = findAgent(await ports.registry(), named.identity.name);
	if (!agent) {
		throw refuse(`agent ${named.identity.name} is not registered`);
	}

	if (normaliseSerial(certificate.serialNumber) !== agent.serial) {
		throw refuse(`its serial is not the one paired for ${agent.name}`);
	}

	return agent;
}
