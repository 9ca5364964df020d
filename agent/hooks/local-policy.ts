#!/usr/bin/env node
/**
 * The reference policy hook. Point an agent's `hook` at this file (dist/agent/hooks/
 * local-policy.js); it reads the run's context as JSON on stdin, evaluates the policy file
 * `$XI_EXEC_AGENT_HOME/policy.json` as the agent last accepted it (`$XI_EXEC_POLICY`, see
 * policy-snapshot.ts; source/policy/policy-file.ts and engine.ts for the format), keeps rate-limit counts in `policy-state.json` beside it, prints
 * {"allow": bool, "reason": string} and exits 0 only when it allows. Any error denies.
 *
 * Central mode (`"central": {"url": ...}` in policy.json): after the local rules allow, the
 * controller's policy endpoint is asked too, on every call, with this agent's own certificate and
 * key, trusting only the fleet CA; both must allow. Unreachable, silent or anything but a
 * well-formed allow denies, with the endpoint's reason. A rate limit is charged only when both allow.
 */
import {readFileSync} from 'node:fs';
import {basename, join} from 'node:path';
import {applyCharges, evaluate, type Decision, type PolicyRequest, type RateState} from '../../source/policy/engine.js';
import {openLockedJsonStore} from '../../source/io/locked-json-store.js';
import type {HookContext} from '../auth-hook.js';
import {agentPaths} from '../home.js';
import {parsePolicyFile, type CentralPolicy} from '../../source/policy/policy-file.js';

const answer = (allow: boolean, reason: string): never => {
	process.stdout.write(JSON.stringify({allow, reason}) + '\n');
	process.exit(allow ? 0 : 1);
};

try {
	const home = process.env['XI_EXEC_AGENT_HOME'];
	if (!home) {
		answer(false, 'local policy hook: XI_EXEC_AGENT_HOME is not set');
	}

	const input = readFileSync(0);
	if (input.length > 256 * 1024) {
		answer(false, 'local policy hook: the context is too large');
	}

	const context = JSON.parse(input.toString('utf8')) as HookContext;
	// The policy the agent accepted (policy-snapshot.ts), or policy.json when run by hand.
	const policyFile = process.env['XI_EXEC_POLICY'] ?? join(home!, 'policy.json');
	const parsed = parsePolicyFile(JSON.parse(readFileSync(policyFile, 'utf8')));
	if (!parsed.ok) {
		answer(false, `local policy hook: ${basename(policyFile)} is invalid: ${parsed.problems.join('; ')}`);
	}

	const {policy, central} = parsed.ok ? parsed.file : {policy: {rules: []}, central: undefined};
	const request: PolicyRequest = {caller: context.caller, token: context.token ? {id: context.token.id, name: context.token.name} : null, script: context.script, args: context.args, dryRun: context.dryRun, approved: Boolean(context.approval)};
	const store = openLockedJsonStore<RateState>(join(home!, 'policy-state.json'), {what: 'policy rate state', empty: () => ({}), parse: value => (typeof value === 'object' && value !== null ? value as RateState : 'expected an object')});
	let centralReason: string | undefined;
	if (central) {
		// The local rules first, without charging: a local denial costs no call to the controller.
		const first = evaluate(policy, request, new Date(), await store.read());
		if (!first.allowed) {
			answer(false, first.reason);
		}

		const asked = await askCentral(central, context, home!);
		if (!asked.allow) {
			answer(false, `central policy: ${asked.reason}`);
		}

		centralReason = asked.reason;
	}

	const now = new Date();
	let decision: Decision | undefined;
	// Evaluated inside the lock with the real counts, so two runs at once cannot both take the last slot.
	await store.update(rates => {
		decision = evaluate(policy, request, now, rates);
		return decision.allowed && decision.charge && decision.charge.length > 0 ? applyCharges(rates, decision.charge, now) : rates;
	});
	answer(decision!.allowed, decision!.allowed && centralReason !== undefined ? `${decision!.reason}; central policy: ${centralReason}` : decision!.reason);
} catch (error) {
	answer(false, `local policy hook failed: ${(error as Error).message}`);
}

async function askCentral(central: CentralPolicy, context: HookContext, home: string): Promise<{allow: boolean; reason: string}> {
	const paths = agentPaths(home);
	let credentials: {key: string; cert: string; ca: string};
	try {
		credentials = {key: readFileSync(paths.key, 'utf8'), cert: readFileSync(paths.cert, 'utf8'), ca: readFileSync(paths.ca, 'utf8')};
	} catch (error) {
		return {allow: false, reason: `the agent's certificate, key or fleet CA cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`};
	}

	// Loaded only in central mode: the x509 parser costs start-up time the local rules do not need.
	const {askControllerPolicy} = await import('../../source/io/policy-client.js');
	return askControllerPolicy({...context, args: [...context.args]}, {controller: central.url, credentials, timeoutMs: central.timeoutMs});
}
