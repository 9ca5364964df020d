/** `xi-exec run SCRIPT --on SELECTOR [-- ARGS...]`: dispatch, stream, summarise, exit 0 only if all ok. */
import {randomUUID} from 'node:crypto';
import {hostname, userInfo} from 'node:os';
import {XiError} from '../errors.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {dispatch} from '../dispatch/dispatcher.js';
import type {RunEvent} from '../dispatch/events.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {createJsonRunWriter} from '../output/json-run.js';
import {createPlainRunPrinter} from '../output/plain-run.js';
import {checkArgs} from '../protocol/args.js';
import {hasControl, isScriptName} from '../protocol/text-checks.js';
import {markSeen} from '../registry/model.js';
import {resolveTargets} from './targets.js';

export type RunInput = {
	script: string | undefined;
	args: string[];
	on: string[];
	parallel: number;
	timeoutSeconds: number;
	json: boolean;
	dryRun: boolean;
};

export type CommandIo = {
	stdout: (text: string) => void;
	stderr: (text: string) => void;
	/** Resolves each time the user presses Ctrl-C. */
	onInterrupt: (handler: () => void) => void;
};

export const exitInterrupted = 130;

export function defaultCaller(): string {
	return `${userInfo().username}@${hostname()}`;
}

export async function runCommand(paths: ControllerPaths, input: RunInput, io: CommandIo): Promise<number> {
	const {script} = input;
	if (!script || !isScriptName(script) || hasControl(script)) {
		throw new XiError('NAME_INVALID', `script name ${JSON.stringify(script ?? '')} must match [a-z0-9][a-z0-9._-]*; usage: xi-exec run SCRIPT --on SELECTOR [-- ARGS...].`);
	}

	const argsProblem = checkArgs(input.args);
	if (argsProblem) {
		throw new XiError('ARGS_INVALID', `Arguments refused: ${argsProblem}.`);
	}

	const credentials = loadControllerCredentials(paths);
	const registryStore = openControllerRegistry(paths);
	const targets = resolveTargets(await registryStore.read(), input.on);
	const requestId = randomUUID();
	const cancel = new AbortController();
	let interrupts = 0;
	io.onInterrupt(() => {
		interrupts++;
		if (interrupts === 1) {
			io.stderr('Cancelling the run on every agent (Ctrl-C again to leave at once)...\n');
			cancel.abort();
		} else {
			process.exit(exitInterrupted);
		}
	});

	const view = input.json
		? createJsonRunWriter(io.stdout)
		: createPlainRunPrinter(io.stdout, {nameWidth: Math.max(...targets.map(target => target.name.length))});
	const results = await dispatch(targets, {
		requestId,
		script,
		args: Object.freeze([...input.args]),
		caller: defaultCaller(),
		timeoutMs: input.timeoutSeconds * 1000,
		dryRun: input.dryRun,
	}, {
		context: createClientContext(credentials),
		parallel: input.parallel,
		cancel: cancel.signal,
		emit: (event: RunEvent) => {
			view.onEvent(event);
		},
	});

	const answered = results.filter(result => result.status !== 'unreachable' && result.status !== 'skipped').map(result => result.agent);
	await registryStore.update(registry => markSeen(registry, answered, new Date().toISOString())).catch(() => undefined);
	if (cancel.signal.aborted) {
		return exitInterrupted;
	}

	return results.every(result => result.status === 'ok') ? 0 : 1;
}
