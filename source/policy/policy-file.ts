/**
 * The reference hook's policy file, `policy.json` in the agent's home: the local rules (see
 * source/policy/engine.ts) and, optionally, the controller's central policy endpoint:
 *
 *   {"rules": [...], "central": {"url": "https://controller.example:8443", "timeoutMs": 3000}}
 *
 * The endpoint's URL is only ever read from this local file, never from a request. Pure.
 */
import {parsePolicy} from './parse-policy.js';
import type {Policy} from './policy-rule.js';

export type CentralPolicy = {url: string; timeoutMs: number};
export type PolicyFile = {policy: Policy; central?: CentralPolicy};

/** Below the agent's default hook limit (5 s), so a silent controller is reported as such, not as a hook timeout. */
export const defaultCentralTimeoutMs = 3000;

export function parsePolicyFile(value: unknown): {ok: true; file: PolicyFile} | {ok: false; problems: string[]} {
	const parsed = parsePolicy(value, ['rules', 'central']);
	const problems = parsed.ok ? [] : [...parsed.problems];
	const raw = (value as {central?: unknown} | null)?.central;
	let central: CentralPolicy | undefined;
	if (raw !== undefined) {
		const checked = parseCentral(raw);
		if (typeof checked === 'string') {
			problems.push(checked);
		} else {
			central = checked;
		}
	}

	if (!parsed.ok || problems.length > 0) {
		return {ok: false, problems};
	}

	return {ok: true, file: {policy: parsed.policy, ...(central ? {central} : {})}};
}

function parseCentral(value: unknown): CentralPolicy | string {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return '"central" must be an object: {"url": "https://CONTROLLER:PORT"}';
	}

	const {url, timeoutMs, ...rest} = value as Record<string, unknown>;
	const unknown = Object.keys(rest);
	if (unknown.length > 0) {
		return `"central" takes "url" and "timeoutMs", not ${unknown.map(key => JSON.stringify(key)).join(', ')}`;
	}

	let parsed: URL | undefined;
	try {
		parsed = typeof url === 'string' ? new URL(url) : undefined;
	} catch {
		parsed = undefined;
	}

	if (!parsed || parsed.protocol !== 'https:' || parsed.username || parsed.password || parsed.search || parsed.hash) {
		return `"central.url" must be https://HOST:PORT (the controller's \`xi-exec serve\`), without credentials, query or fragment; got ${JSON.stringify(url)}`;
	}

	if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)) {
		return `"central.timeoutMs" must be whole milliseconds from 100 to 60000; got ${JSON.stringify(timeoutMs)}`;
	}

	return {url: url as string, timeoutMs: timeoutMs ?? defaultCentralTimeoutMs};
}
