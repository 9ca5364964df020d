/** `xi-exec run SCRIPT --on SELECTOR [-- ARGS...]`: dispatch, stream, summarise, exit 0 only if all ok. */
import {createHash, randomUUID} from 'node:crypto';
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
import {openControllerAudit} from '../audit/controller-log.js';
import {argsHash, type AuditFields} from '../audit/record.js';
import type {AgentResult} from '../dispatch/events.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, checkScope, scopeOf, type TokenScope} from '../policy/tokens.js';
import {resolveTargets} from './targets.js';

export type RunInput = {
	script: string | undefined;
	args: string[];
	on: string[];
	parallel: number;
	timeoutSeconds: number;
	json: boolean;
	dryRun: boolean;
	/** A scoped token, when the caller presents one (XI_EXEC_TOKEN, --token-file). */
	token?: string;
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
	const caller = defaultCaller();
	const audit = openControllerAudit(paths);
	let scope: TokenScope | undefined;
	try {
		scope = input.token === undefined ? undefined : await checkToken(paths, input.token, script, targets);
	} catch (error) {
		// A refusal is an event too; if even it cannot be recorded, the refusal still stands.
		await audit.append({event: 'run.refused', requestId, script, argsHash: argsHash(input.args), caller, selector: input.on, reason: (error as Error).message}).catch(() => undefined);
		await audit.close().catch(() => undefined);
		throw error;
	}

	// Fail closed: no record of the request, no request.
	await audit.append({
		event: input.dryRun ? 'run.dry-run' : 'run.request',
		requestId,
		script,
		args: input.args,
		argsHash: argsHash(input.args),
		caller,
		token: scope ? {id: scope.id, name: scope.name} : undefined,
		selector: input.on,
		targets: targets.map(target => target.name),
		controllerSerial: normaliseSerial(new x509.X509Certificate(credentials.cert).serialNumber),
	});
	const outcomes: Array<Promise<unknown>> = [];
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
		caller,
		timeoutMs: input.timeoutSeconds * 1000,
		dryRun: input.dryRun,
	}, {
		context: createClientContext(credentials),
		parallel: input.parallel,
		cancel: cancel.signal,
		emit: (event: RunEvent) => {
			if (event.type === 'agent-finished') {
				outcomes.push(audit.append(outcomeRecord(requestId, event.result)));
			}

			view.onEvent(event);
		},
	});
	const recorded = await Promise.allSettled(outcomes);
	await audit.close();
	const unrecorded = recorded.find(result => result.status === 'rejected');
	if (unrecorded) {
		throw unrecorded.reason;
	}

	const answered = results.filter(result => result.status !== 'unreachable' && result.status !== 'skipped').map(result => result.agent);
	await registryStore.update(registry => markSeen(registry, answered, new Date().toISOString())).catch(() => undefined);
	if (cancel.signal.aborted) {
		return exitInterrupted;
	}

	return results.every(result => result.status === 'ok') ? 0 : 1;
}

/** What the controller records of one host's outcome: sizes and hashes of the output, not the output. */
export function outcomeRecord(requestId: string, result: AgentResult): AuditFields {
	return {
		event: 'run.outcome',
		requestId,
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		durationMs: result.durationMs,
		truncated: result.truncated,
		reason: result.reason,
		output: {stdoutBytes: Buffer.byteLength(result.stdout), stderrBytes: Buffer.byteLength(result.stderr), stdoutSha256: sha256(result.stdout), stderrSha256: sha256(result.stderr)},
	};
}

function sha256(text: string): string {
	return createHash('sha256').update(text).digest('hex');
}

/** Authenticates a presented token and refuses, before anything is dialled, a request outside its scope. */
export async function checkToken(paths: ControllerPaths, presented: string, script: string, targets: ReadonlyArray<{name: string; tags: Record<string, string>}>): Promise<TokenScope> {
	const {tokens} = await openTokenStore(paths.home).read();
	const check = authenticateToken(tokens, presented.trim(), new Date());
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	const scope = scopeOf(check.token);
	const problem = checkScope(scope, script, targets);
	if (problem) {
		throw new XiError('OUT_OF_SCOPE', `Refused before running anything: ${problem}.`);
	}

	return scope;
}
