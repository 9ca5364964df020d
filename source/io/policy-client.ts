/**
 * The client the agent's reference hook uses, in its central mode, to ask the controller's
 * policy endpoint about a run. It authenticates with the agent's own certificate, trusts only the
 * fleet CA and only a certificate naming `xi-exec:server`, follows no redirect, reads at most a
 * small body, and gives up after a time limit. It never throws: anything but a well-formed
 * answer of 200 is a denial with its reason (fail closed).
 */
import {request as httpsRequest} from 'node:https';
import type {PeerCertificate} from 'node:tls';
import type {TlsCredentials} from '../pki/credentials.js';
import {identityOf} from '../pki/identity.js';
import {certificateFromDer} from '../pki/x509.js';
import type {PolicyAnswer, PolicyContext} from '../protocol/policy-query.js';

/**
 * The TLS server name the policy client asks for. When the operator gives the REST API its own
 * certificate, the server still answers this name with the fleet certificate. `.invalid` never
 * resolves, so the name cannot belong to anyone else.
 */
export const policyServerName = 'xi-exec-policy.invalid';

export const policyPath = '/v1/policy/check';

export type PolicyClientOptions = {
	/** The controller's API: `https://HOST:PORT` (the policy path is added) or the endpoint's full URL. From the agent's local config only. */
	controller: string;
	/** The agent's own key and certificate, and the fleet CA. */
	credentials: TlsCredentials;
	timeoutMs?: number;
	maxBodyBytes?: number;
};

const deny = (reason: string): PolicyAnswer => ({allow: false, reason});

export function askControllerPolicy(context: PolicyContext, options: PolicyClientOptions): Promise<PolicyAnswer> {
	let url: URL;
	try {
		url = new URL(options.controller);
	} catch {
		return Promise.resolve(deny(`the controller's policy URL ${JSON.stringify(options.controller)} is not a URL`));
	}

	if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
		return Promise.resolve(deny('the controller\'s policy URL must be https://HOST:PORT[/path], without credentials, query or fragment'));
	}

	const path = url.pathname === '/' ? policyPath : url.pathname;
	const timeoutMs = options.timeoutMs ?? 5000;
	const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
	const body = JSON.stringify(context);

	return new Promise(resolve => {
		let settled = false;
		const finish = (answer: PolicyAnswer) => {
			if (!settled) {
				settled = true;
				clearTimeout(timer);
				request.destroy();
				resolve(answer);
			}
		};

		const request = httpsRequest({
			host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
			port: url.port === '' ? 443 : Number(url.port),
			path,
			method: 'POST',
			agent: false,
			servername: policyServerName,
			key: options.credentials.key,
			cert: options.credentials.cert,
			ca: [options.credentials.ca],
			minVersion: 'TLSv1.3',
			rejectUnauthorized: true,
			checkServerIdentity: (_host: string, certificate: PeerCertificate) => checkServer(certificate),
			headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'application/json'},
		}, response => {
			const status = response.statusCode ?? 0;
			if (status >= 300 && status < 400) {
				finish(deny(`the controller's policy endpoint answered a redirect (${status}), which is not followed`));
				return;
			}

			const chunks: Buffer[] = [];
			let size = 0;
			response.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (size > maxBodyBytes) {
					finish(deny(`the controller's policy answer is over ${maxBodyBytes} bytes`));
					return;
				}

				chunks.push(chunk);
			});
			response.on('end', () => {
				finish(readAnswer(status, String(response.headers['content-type'] ?? ''), Buffer.concat(chunks).toString('utf8')));
			});
			response.on('error', error => {
				finish(deny(`the controller's policy answer was cut off (${error.message})`));
			});
		});
		const timer = setTimeout(() => {
			finish(deny(`the controller's policy endpoint did not answer within ${timeoutMs / 1000} s`));
		}, timeoutMs);
		request.on('error', (error: NodeJS.ErrnoException) => {
			finish(deny(`the controller's policy endpoint cannot be reached (${error.code ?? error.message})`));
		});
		request.end(body);
	});
}

function checkServer(certificate: PeerCertificate): Error | undefined {
	try {
		const named = identityOf(certificateFromDer(certificate.raw));
		if (!named.ok) {
			return new Error(named.reason);
		}

		return named.identity.role === 'server' ? undefined : new Error(`the policy endpoint presented an xi-exec:${named.identity.role} certificate, not xi-exec:server`);
	} catch {
		return new Error('the policy endpoint\'s certificate cannot be parsed');
	}
}

/** Exactly `{"allow": boolean, "reason": string}` with 200 allows or denies; anything else denies. */
export function readAnswer(status: number, contentType: string, text: string): PolicyAnswer {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		return deny(`the controller's policy endpoint answered ${status} with a body that is not JSON`);
	}

	if (status !== 200) {
		const message = (value as {error?: {message?: unknown}} | null)?.error?.message;
		return deny(`the controller's policy endpoint refused the check (${status}${typeof message === 'string' ? `: ${message}` : ''})`);
	}

	if (!/^application\/json\b/i.test(contentType)) {
		return deny(`the controller's policy answer is ${JSON.stringify(contentType)}, not application/json`);
	}

	const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value).sort().join(',') : '';
	const answer = value as {allow?: unknown; reason?: unknown};
	if (keys !== 'allow,reason' || typeof answer.allow !== 'boolean' || typeof answer.reason !== 'string') {
		return deny('the controller\'s policy answer is not {"allow": boolean, "reason": string}');
	}

	return {allow: answer.allow, reason: answer.reason};
}
