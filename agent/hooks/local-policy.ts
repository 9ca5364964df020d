#!/usr/bin/env node
/**
 * The reference local policy hook. Point an agent's `hook` at this file (dist/agent/hooks/
 * local-policy.js); it reads the run's context as JSON on stdin, evaluates the policy file
 * `$XI_EXEC_AGENT_HOME/policy.json` (see source/policy/engine.ts for the format), keeps rate-limit
 * counts in `policy-state.json` beside it, prints {"allow": bool, "reason": string} and exits 0
 * only when it allows. Any error denies.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {applyCharges, evaluate, parsePolicy, type Decision, type RateState} from '../../source/policy/engine.js';
import {openLockedJsonStore} from '../../source/io/locked-json-store.js';
import type {HookContext} from '../auth-hook.js';

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
	const parsed = parsePolicy(JSON.parse(readFileSync(join(home!, 'policy.json'), 'utf8')));
	if (!parsed.ok) {
		answer(false, `local policy hook: policy.json is invalid: ${parsed.problems.join('; ')}`);
	}

	const now = new Date();
	const request = {caller: context.caller, token: context.token ? {id: context.token.id, name: context.token.name} : null, script: context.script, args: context.args, dryRun: context.dryRun};
	const store = openLockedJsonStore<RateState>(join(home!, 'policy-state.json'), {what: 'policy rate state', empty: () => ({}), parse: value => (typeof value === 'object' && value !== null ? value as RateState : 'expected an object')});
	const policy = parsed.ok ? parsed.policy : {rules: []};
	let decision: Decision | undefined;
	// Evaluated inside the lock with the real counts, so two runs at once cannot both take the last slot.
	await store.update(rates => {
		decision = evaluate(policy, request, now, rates);
		return decision.allowed && decision.charge && decision.charge.length > 0 ? applyCharges(rates, decision.charge, now) : rates;
	});
	answer(decision!.allowed, decision!.reason);
} catch (error) {
	answer(false, `local policy hook failed: ${(error as Error).message}`);
}
