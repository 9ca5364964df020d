/**
 * A tool call's arguments read against the tool's envelope: the built-in tools' inputs, and a
 * script tool's `{on, args, dryRun}`. What does not fit is a malformed call (a protocol error,
 * with this message); the script's own argument schema is checked later, by the core, and a
 * refusal there is a tool error the caller can act on. Pure.
 */
import {builtinToolNames, type BuiltinToolName} from './tools.js';

export type ScriptCallInput = {kind: 'script'; on: string[]; args: string[]; dryRun: boolean};

export type CallInput =
	| {kind: 'list_agents'; on?: string[]}
	| {kind: 'list_runs'; limit: number}
	| {kind: 'get_run' | 'cancel_run'; requestId: string}
	| {kind: 'wait_approval'; approvalId: string; timeoutSeconds: number}
	| ScriptCallInput;

const requestIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/;

export function checkArguments(tool: string, input: Record<string, unknown>): CallInput | string {
	const builtin = (builtinToolNames as readonly string[]).includes(tool) ? tool as BuiltinToolName : undefined;
	const allowed = builtin === undefined ? ['on', 'args', 'dryRun'] : {list_agents: ['on'], list_runs: ['limit'], get_run: ['requestId'], cancel_run: ['requestId'], wait_approval: ['approvalId', 'timeoutSeconds']}[builtin];
	const unknown = Object.keys(input).filter(key => !allowed.includes(key));
	if (unknown.length > 0) {
		return `${tool}: unknown argument ${unknown.map(key => JSON.stringify(key.slice(0, 40))).join(', ')}; it takes ${allowed.join(', ')}`;
	}

	const on = input['on'];
	const onProblem = on !== undefined && !(Array.isArray(on) && on.length > 0 && on.length <= 32 && on.every(entry => typeof entry === 'string' && entry.length > 0 && entry.length <= 512))
		? `${tool}: "on" must be a list of 1 to 32 selectors (strings such as "web1" or "env=staging")`
		: undefined;
	switch (builtin) {
		case 'list_agents': {
			return onProblem ?? {kind: 'list_agents', ...(on === undefined ? {} : {on: on as string[]})};
		}

		case 'list_runs': {
			const limit = input['limit'] ?? 20;
			return Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= 100 ? {kind: 'list_runs', limit: limit as number} : `${tool}: "limit" must be a whole number from 1 to 100`;
		}

		case 'get_run':
		case 'cancel_run': {
			const requestId = input['requestId'];
			return typeof requestId === 'string' && requestIdPattern.test(requestId) ? {kind: builtin, requestId} : `${tool}: "requestId" must be a request id, as a run answered with`;
		}

		case 'wait_approval': {
			const approvalId = input['approvalId'];
			const timeoutSeconds = input['timeoutSeconds'] ?? 60;
			if (typeof approvalId !== 'string' || !/^[0-9a-f-]{4,64}$/.test(approvalId)) {
				return `${tool}: "approvalId" must be an approval id, as a script call answered with`;
			}

			return Number.isInteger(timeoutSeconds) && (timeoutSeconds as number) >= 0 && (timeoutSeconds as number) <= 300 ? {kind: 'wait_approval', approvalId, timeoutSeconds: timeoutSeconds as number} : `${tool}: "timeoutSeconds" must be a whole number from 0 to 300`;
		}

		case undefined: {
			if (on === undefined) {
				return `${tool}: "on" is required: which agents to run on`;
			}

			const args = input['args'] ?? [];
			if (!Array.isArray(args) || !args.every(argument => typeof argument === 'string')) {
				return `${tool}: "args" must be a list of strings`;
			}

			const dryRun = input['dryRun'] ?? false;
			if (typeof dryRun !== 'boolean') {
				return `${tool}: "dryRun" must be true or false`;
			}

			return onProblem ?? {kind: 'script', on: on as string[], args, dryRun};
		}
	}
}
