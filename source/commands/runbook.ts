/**
 * `xi-exec runbook list|show|run` and `xi-exec runbooks [show ID]`: the CLI face of the runbook
 * use case (runbooks/prepare-runbook.ts). It reads flags into the use case's input, builds the
 * ports (credentials, registry, audit), asks on the terminal, and prints.
 */
import {X509Certificate} from 'node:crypto';
import {waitingLine} from '../approvals/approval-text.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {errorCodes, XiError} from '../errors.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {defaultCaller, exitInterrupted, type CommandIo} from '../io/command-io.js';
import {safeJson, visible} from '../output/visible.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {dryRunSteps} from '../runbooks/dry-run.js';
import {stageSteps, type Runbook} from '../runbooks/model.js';
import {parseParameterWords} from '../runbooks/parameters.js';
import {planDocument} from '../runbooks/plan-document.js';
import {prepareRunbookRun, type RunbookPorts} from '../runbooks/prepare-runbook.js';
import {cancelRunbookRun, type RunbookCancelAnswer} from '../runbooks/cancel-runbook.js';
import {findRunbookRun, listRunbookRuns, runbookRunsDirectory} from '../runbooks/record-store.js';
import {listRunbookFiles, loadRunbook, readRunbookBytes, runbookInvalid} from '../runbooks/runbook-files.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {cancelPlace, runbookRunDocument} from '../runbooks/run-record.js';
import {canaryQuestion, createRunbookPrinter, planText, runbookRunText} from './runbook-text.js';

export type RunbookRunFlags = {
	name?: string;
	params: string[];
	json: boolean;
	yes: boolean;
	token?: string;
	resume?: string;
	from?: string;
	changedFile: boolean;
	/** A step that needs approval ends the run `waiting` (exit 3) instead of holding it. */
	noWait?: boolean;
	ask?: (question: string) => Promise<boolean>;
	prompt?: (question: string) => Promise<string>;
};

/** The ports of the run use case, as the CLI builds them: the audit log opened on first use, closed by `close`. */
function cliPorts(paths: ControllerPaths): {ports: RunbookPorts; close: () => Promise<void>} {
	const credentials = loadControllerCredentials(paths);
	let audit: AuditLog | undefined;
	const context = createClientContext(credentials);
	return {
		ports: {
			paths,
			registry: openControllerRegistry(paths),
			audit: () => (audit ??= openControllerAudit(paths)),
			context,
			controllerSerial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber),
		},
		close: async () => {
			await context.close();
			await audit?.close();
		},
	};
}

export function runbookListCommand(paths: ControllerPaths, input: {json: boolean}, io: CommandIo): number {
	const listed = listRunbookFiles(paths).map(file => {
		const read = (() => {
			try {
				const bytes = readRunbookBytes(paths, file.name);
				return readRunbook(file.name, bytes.text, bytes.format);
			} catch (error) {
				return {ok: false as const, problems: [(error as Error).message]};
			}
		})();
		return read.ok
			? {name: file.name, file: file.file, valid: true, description: read.runbook.description ?? null, parameters: read.runbook.parameters.map(parameter => parameter.name), steps: countSteps(read.runbook), problems: []}
			: {name: file.name, file: file.file, valid: false, description: null, parameters: [], steps: 0, problems: read.problems};
	});
	if (input.json) {
		io.stdout(safeJson({runbooks: listed}, 2) + '\n');
		return 0;
	}

	if (listed.length === 0) {
		io.stdout(`No runbooks yet: put NAME.yaml files in ${paths.home}/runbooks/ (README: Runbooks).\n`);
	}

	for (const runbook of listed) {
		io.stdout(runbook.valid
			? `${runbook.name}  ${runbook.steps} ${runbook.steps === 1 ? 'step' : 'steps'}${runbook.parameters.length > 0 ? `  --param ${runbook.parameters.join(' ')}` : ''}${runbook.description ? `  ${visible(runbook.description)}` : ''}\n`
			: `${runbook.name}  invalid: ${visible(runbook.problems[0] ?? '')}${runbook.problems.length > 1 ? ` (and ${runbook.problems.length - 1} more; runbook show ${runbook.name})` : ''}\n`);
	}

	return 0;
}

function countSteps(runbook: Runbook): number {
	return runbook.stages.reduce((sum, stage) => sum + stageSteps(stage).length, 0) + runbook.handlers.length;
}

function givenParameters(paths: ControllerPaths, name: string | undefined, words: readonly string[]): Record<string, unknown> {
	if (words.length === 0) {
		return {};
	}

	// Each value's type comes from its parameter's schema; a resumed run reads the file it resumes.
	const runbook = name === undefined ? undefined : loadRunbook(paths, name).runbook;
	const parsed = parseParameterWords(runbook ?? {name: '', parameters: [], stages: [], handlers: []}, words);
	if (!parsed.ok) {
		throw runbookInvalid('The --param values are malformed', parsed.problems);
	}

	return parsed.given;
}

export async function runbookShowCommand(paths: ControllerPaths, input: {name?: string; params: string[]; json: boolean; token?: string}, io: CommandIo): Promise<number> {
	if (!input.name) {
		throw new XiError('USAGE', 'usage: xi-exec runbook show NAME [--param NAME=VALUE]...; `xi-exec runbook list` lists them.');
	}

	const {ports, close} = cliPorts(paths);
	try {
		const caller = defaultCaller();
		const prepared = await prepareRunbookRun(ports, {name: input.name, params: givenParameters(paths, input.name, input.params), caller, ...(input.token === undefined ? {} : {token: input.token})});
		const policy = await dryRunSteps(ports, prepared, {caller, ...(input.token === undefined ? {} : {token: input.token})});
		const document = planDocument({...prepared, policy});
		io.stdout(input.json ? safeJson(document, 2) + '\n' : planText(document));
		return 0;
	} finally {
		await close();
	}
}

export async function runbookRunCommand(paths: ControllerPaths, input: RunbookRunFlags, io: CommandIo): Promise<number> {
	if (input.resume === undefined && input.name === undefined) {
		throw new XiError('USAGE', 'usage: xi-exec runbook run NAME [--param NAME=VALUE]... [--yes], or runbook run --resume ID [--from STEP]; `xi-exec runbook list` lists them.');
	}

	if (input.resume !== undefined && input.name !== undefined) {
		throw new XiError('USAGE', '--resume ID continues that run of its own runbook: give no runbook name.');
	}

	if (input.resume === undefined && (input.from !== undefined || input.changedFile)) {
		throw new XiError('USAGE', '--from and --changed-file go with --resume ID.');
	}

	const {ports, close} = cliPorts(paths);
	const caller = defaultCaller();
	try {
		const name = input.name ?? (input.resume === undefined ? undefined : findRunbookRun(runbookRunsDirectory(paths), input.resume).record.header.runbook);
		const prepared = await prepareRunbookRun(ports, {
			...(input.name === undefined ? {} : {name: input.name}),
			params: givenParameters(paths, name, input.params),
			caller,
			...(input.token === undefined ? {} : {token: input.token}),
			...(input.resume === undefined ? {} : {resume: {id: input.resume, ...(input.from === undefined ? {} : {from: input.from}), changedFile: input.changedFile}}),
		});
		for (const note of prepared.plan.notes) {
			io.stderr(`xi-exec: note: ${visible(note)}.\n`);
		}

		if (!input.json) {
			io.stdout(`runbook ${prepared.runbook.name}, run ${prepared.id}${prepared.resumeOf ? `, resuming ${prepared.resumeOf} from ${prepared.from}` : ''}\n`);
		}

		const cancel = new AbortController();
		let interrupts = 0;
		io.onInterrupt(() => {
			interrupts++;
			if (interrupts === 1) {
				io.stderr('Cancelling the runbook: the step running is cancelled on every agent and nothing runs after it (Ctrl-C again to leave at once)...\n');
				cancel.abort();
			} else {
				process.exit(exitInterrupted);
			}
		});
		const parallelSteps = new Set(prepared.runbook.stages.flatMap(stage => (stage.kind === 'parallel' ? stage.steps.map(step => step.name) : [])));
		const printer = input.json ? undefined : createRunbookPrinter(io.stdout, {parallelSteps});
		const result = await prepared.start({
			cancel: cancel.signal,
			cancelledBy: caller,
			yes: input.yes,
			...(input.noWait ? {noWait: true} : {}),
			...(input.prompt ? {confirm: async (question: string, answer: string) => (await input.prompt!(question)).trim() === answer} : {}),
			...(input.ask ? {approveCanary: async (step, canary) => input.ask!(canaryQuestion(step, canary))} : {}),
			...(printer ? {emit: event => printer.onEvent(event)} : {}),
			waitingForApproval(step, request) {
				(input.json ? io.stderr : io.stdout)(`-- ${step}: ${waitingLine(request)}; \`xi-exec approve ${request.id}\` from another operator's token\n`);
			},
		});
		const document = runbookRunDocument(findRunbookRun(runbookRunsDirectory(paths), result.id).record);
		const why = document.cancel ? `${document.cancel.by ? `by ${document.cancel.by} ` : ''}${cancelPlace(document.cancel)}` : result.reason;
		io.stdout(input.json ? safeJson(document, 2) + '\n' : `runbook ${prepared.runbook.name}: ${result.status}${why ? ` (${visible(why)})` : ''}   run ${result.id}\n`);
		if (result.status === 'waiting') {
			io.stderr(`xi-exec: once approved, continue it with \`xi-exec runbook run --resume ${result.id}\` (with this token).\n`);
			return errorCodes.APPROVAL_PENDING.exit;
		}

		return result.status === 'ok' ? 0 : (result.status === 'cancelled' ? exitInterrupted : 1);
	} finally {
		await close();
	}
}

export function runbooksListCommand(paths: ControllerPaths, input: {json: boolean}, io: CommandIo): number {
	const runs = listRunbookRuns(runbookRunsDirectory(paths)).map(stored => runbookRunDocument(stored.record, stored.running));
	if (input.json) {
		io.stdout(safeJson({runs}, 2) + '\n');
		return 0;
	}

	if (runs.length === 0) {
		io.stdout('No runbook runs yet.\n');
	}

	for (const run of runs) {
		const done = run.steps.filter(step => step.status === 'ok' || step.status === 'skipped').length;
		io.stdout(`${run.startedAt.slice(0, 19).replace('T', ' ')}  ${run.id}  ${run.runbook}  ${run.status}  ${done}/${run.steps.length + run.notRun.length} steps ok  ${visible(run.caller)}${run.resumeOf ? `  resumes ${run.resumeOf}` : ''}\n`);
	}

	return 0;
}

export function runbooksShowCommand(paths: ControllerPaths, input: {id?: string; json: boolean}, io: CommandIo): number {
	if (!input.id) {
		throw new XiError('USAGE', 'usage: xi-exec runbooks show ID [--json]; `xi-exec runbooks` lists the ids.');
	}

	const stored = findRunbookRun(runbookRunsDirectory(paths), input.id);
	const document = runbookRunDocument(stored.record, stored.running);
	io.stdout(input.json ? safeJson(document, 2) + '\n' : runbookRunText(document));
	return 0;
}

export async function runbookCancelCommand(paths: ControllerPaths, input: {id?: string; json: boolean}, io: CommandIo): Promise<number> {
	if (!input.id) {
		throw new XiError('USAGE', 'usage: xi-exec runbook cancel ID [--json]; `xi-exec runbooks` lists the ids.');
	}

	let audit: AuditLog | undefined;
	let answer: RunbookCancelAnswer;
	try {
		answer = await cancelRunbookRun({paths, registry: openControllerRegistry(paths), audit: () => (audit ??= openControllerAudit(paths)), context: createClientContext(loadControllerCredentials(paths))}, {id: input.id, caller: defaultCaller()});
	} finally {
		await audit?.close();
	}

	const unreachable = answer.steps.some(step => step.answers.some(each => each.outcome === 'unreachable'));
	io.stdout(input.json ? safeJson(answer, 2) + '\n' : cancelText(answer));
	return unreachable ? 1 : 0;
}

function cancelText(answer: RunbookCancelAnswer): string {
	if (typeof answer.status === 'object') {
		return `Runbook run ${answer.id} already ended (${answer.status.ended}): nothing to cancel.\n`;
	}

	const lines = [answer.status === 'cancelling'
		? `Runbook run ${answer.id}: cancel asked; the controller running it cancels the step in flight and runs nothing after it.`
		: `Runbook run ${answer.id} was not running (its controller stopped, or it waited for approval): its record now ends cancelled; \`xi-exec runbook run --resume ${answer.id}\` continues it.`];
	for (const step of answer.steps) {
		lines.push(`  step ${step.step} (request ${step.requestId}): ${step.answers.length === 0 ? 'no host still running' : step.answers.map(each => `${each.agent} ${each.outcome}${each.reason ? ` (${visible(each.reason)})` : ''}`).join(', ')}`);
	}

	return lines.join('\n') + '\n';
}
