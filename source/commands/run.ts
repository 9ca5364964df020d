/** `xi-exec run SCRIPT --on SELECTOR [-- ARGS...]`: dispatch, stream, summarise, exit 0 only if all ok. */
import {X509Certificate} from 'node:crypto';
import {certificateNotes} from '../certificates/after-contact.js';
import {createClientContext, type EarlyConnection} from '../dispatch/agent-connection.js';
import {createRunConnections, type RunConnections} from '../dispatch/held-connections.js';
import type {RunEvent} from '../run/events.js';
import {executePlan, type RunOutcome} from '../core/run-execute.js';
import {checkRunInput, type PlanPorts, type RolloutInput} from '../core/run-plan.js';
import {resolveGated, type GatedPlan} from '../approvals/gate.js';
import {errorCodes} from '../errors.js';
import {safeJson} from '../output/visible.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import type {RunPlan} from '../run/plan.js';
import {findRun, historyDirectory} from '../history/run-store.js';
import type {RunStatus} from '../protocol/frames.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths, type TlsCredentials} from '../home.js';
import {openDescriptionFile} from '../core/description-file.js';
import {createJsonRunWriter} from '../output/json-run.js';
import {createPlainRunPrinter} from '../output/plain-run.js';
import {createDryRunView} from '../output/dry-run-view.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {planRollout} from '../run/rollout.js';
import {allOk} from '../run/run-summary.js';
import {openOutdir} from './run-outdir.js';
import {startProgress, type ProgressTicker} from './run-progress.js';
import {defaultCaller, exitInterrupted, type CommandIo} from '../io/command-io.js';


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
	rollout?: RolloutInput;
	/** --yes: go on after a good canary without asking. */
	yes?: boolean;
	/** --group: print hosts with identical output once, names folded. */
	group?: boolean;
	/** --rerun ID --only STATUSES. */
	rerun?: {of: string; only: RunStatus[]};
	/** Asks a yes/no question on the terminal; undefined when there is none. */
	ask?: (question: string) => Promise<boolean>;
	/** Asks a question on the terminal and hands back the answer typed; undefined when there is none. */
	prompt?: (question: string) => Promise<string>;
	/** --outdir DIR: each host's output and result in DIR/HOST.{out,err,json}, written as they arrive. */
	outdir?: string;
	/** A live progress line on stderr (a terminal's width, when it has one). */
	progress?: {columns: () => number | undefined};
	/** --no-wait: a run that needs approval returns at once (exit 3) with the request's id. */
	noWait?: boolean;
	/** --approved ID: run the plan of an approved request (the requester's token). */
	approved?: string;
};


/** `early`: a connection the CLI dialled while it loaded (cli/early-dial.ts), taken by the run's exchange with its agent. */
export async function runCommand(paths: ControllerPaths, input: RunInput, io: CommandIo, early?: EarlyConnection): Promise<number> {
	if (input.approved === undefined) {
		checkRunInput(input.script, input.args);
	}

	// Read once: the early dial read them already (and its TLS context is then the run's).
	const credentials = loadControllerCredentials(paths, early?.credentials);
	const registryStore = openControllerRegistry(paths);
	const caller = defaultCaller();
	let audit: AuditLog | undefined;
	let progress: ProgressTicker | undefined;
	// One TLS connection per host for the describe and the run.
	const connections = createRunConnections();
	let code: number;
	const context = createClientContext(credentials, undefined, early);
	try {
		const rerun = input.rerun ? rerunHosts(paths, input.rerun) : undefined;
		const openAudit = () => (audit ??= openControllerAudit(paths));
		// A run without arguments is planned from the agents' cached descriptions (one round trip less per host); not a run being approved.
		const descriptions = input.approved === undefined ? openDescriptionFile(paths.home) : undefined;
		const planPorts = {paths, registry: registryStore, audit: openAudit, context, connections, ...(descriptions ? {descriptions} : {})};
		const cancel = new AbortController();
		let say: ((text: string) => void) | undefined;
		let interrupts = 0;
		const onInterrupt = (sayWith: (text: string) => void) => {
			if (say === undefined) {
				io.onInterrupt(() => {
					interrupts++;
					if (interrupts === 1) {
						say?.('Cancelling the run on every agent (Ctrl-C again to leave at once)...\n');
						cancel.abort();
					} else {
						process.exit(exitInterrupted);
					}
				});
			}

			say = sayWith;
		};

		const attempt = await runAttempt(planPorts, {credentials, input, io, caller, cancel, onInterrupt, ...(rerun ? {rerun} : {})}, ticker => {
			progress = ticker;
		});
		if (attempt.type === 'exit') {
			await audit?.close();
			return attempt.code;
		}

		const {outcome} = attempt;
		progress?.stop();
		if (outcome.certificates) {
			io.stderr(certificateNotes(outcome.certificates));
		}

		if (outcome.refreshed) {
			io.stderr(`xi-exec: note: the plan was refreshed for ${outcome.refreshed.join(', ')}: ${outcome.refreshed.length === 1 ? 'its allowlist entry' : 'their allowlist entries'} changed since cached, so ${outcome.refreshed.length === 1 ? 'it was' : 'they were'} described and planned again before running.\n`);
		}

		if (outcome.historyProblem) {
			io.stderr(`xi-exec: warning: ${outcome.historyProblem}.\n`);
		}

		code = outcome.cancelled ? exitInterrupted : (allOk(outcome.summary) ? 0 : 1);
	} catch (error) {
		progress?.stop();
		await audit?.close().catch(() => undefined);
		throw error;
	} finally {
		connections.close();
		await context.close();
	}

	await audit?.close();
	return code;
}

type Attempt = {type: 'ran'; outcome: RunOutcome} | {type: 'exit'; code: number};

type AttemptInput = {
	credentials: TlsCredentials;
	input: RunInput;
	io: CommandIo;
	caller: string;
	rerun?: {of: string; agents: string[]};
	/** The run's cancel, the same for every attempt. */
	cancel: AbortController;
	/** Ctrl-C cancels the run from now on (the first call hooks it; `say` writes the notice). */
	onInterrupt: (say: (text: string) => void) => void;
};

/** The resolution and execution of the request: the plan (waiting for an approval when it needs one), the run shown as it goes. */
async function runAttempt(planPorts: PlanPorts & {connections: RunConnections}, what: AttemptInput, showing: (progress: ProgressTicker | undefined) => void): Promise<Attempt> {
	const {input, io, caller, rerun} = what;
	const gated = input.approved === undefined ? await resolveGated(planPorts, {
		script: input.script,
		args: input.args,
		on: input.on,
		parallel: input.parallel,
		timeoutSeconds: input.timeoutSeconds,
		dryRun: input.dryRun,
		caller,
		...(input.token === undefined ? {} : {token: input.token}),
		...(input.rollout ? {rollout: input.rollout} : {}),
		...(rerun ? {rerun} : {}),
		yes: Boolean(input.yes),
		...(input.prompt ? {confirm: async (question: string, answer: string) => (await input.prompt!(question)).trim() === answer} : {}),
	}) : undefined;
	const approvedRun = await approvedPlan(planPorts, gated, input, io);
	if (typeof approvedRun === 'number') {
		return {type: 'exit', code: approvedRun};
	}

	const {plan, approval} = approvedRun;
	for (const note of plan.notes) {
		io.stderr(`xi-exec: note: ${note}.\n`);
	}

	const window = planRollout({...input.rollout, parallel: input.parallel}, plan.targets.length).window;
	const progress = input.progress && !input.dryRun ? startProgress({write: io.stderr, window, columns: input.progress.columns}) : undefined;
	showing(progress);
	const stdout = progress ? (text: string) => progress.around(() => io.stdout(text)) : io.stdout;
	const stderr = progress ? (text: string) => progress.around(() => io.stderr(text)) : io.stderr;
	const {cancel} = what;
	what.onInterrupt(stderr);

	const view = input.dryRun
		? createDryRunView(stdout, {json: input.json})
		: input.json
		? createJsonRunWriter(stdout, {group: Boolean(input.group)})
		: createPlainRunPrinter(stdout, {nameWidth: Math.max(...plan.targets.map(target => target.name.length)), group: Boolean(input.group)});
	const outdir = input.outdir === undefined || input.dryRun ? undefined : openOutdir(input.outdir);
	const shown = (event: RunEvent) => {
		outdir?.onEvent(event);
		view.onEvent(event);
		progress?.onEvent(event);
	};

	try {
		const execution = await executePlan({...planPorts, controllerSerial: normaliseSerial(new X509Certificate(what.credentials.cert).serialNumber)}, plan, {
			...(approval ? {approval} : {}),
			closesAudit: true,
			cancel: cancel.signal,
			cancelledBy: caller,
			async approveCanary(canary) {
				if (input.yes) {
					return true;
				}

				if (!input.ask) {
					stderr(`xi-exec: the ${canary.length} canary ${canary.length === 1 ? 'host is' : 'hosts are'} ok; without a terminal, pass --yes to go on automatically. Stopping here.\n`);
					return false;
				}

				progress?.suspend();
				try {
					return await input.ask(`The ${canary.length} canary ${canary.length === 1 ? 'host is' : 'hosts are'} ok. Run on the other ${plan.targets.length - canary.length}? [y/N] `);
				} finally {
					progress?.resume();
				}
			},
			emit: shown,
		});
		return {type: 'ran', outcome: await execution.outcome};
	} finally {
		outdir?.close();
	}
}

/**
 * The plan to run: as resolved when no approval is needed; else the request is shown and either
 * left waiting (--no-wait: exit 3) or waited for, then claimed; or, with --approved ID, claimed.
 */
async function approvedPlan(ports: PlanPorts, gated: GatedPlan | undefined, input: RunInput, io: CommandIo): Promise<{plan: RunPlan; approval?: ApprovalClaim} | number> {
	if (gated?.type === 'run') {
		return {plan: gated.plan};
	}

	// The approval code loads only for a run that needs or carries an approval.
	const [{claimForRun, waitThenClaim}, {approvalLines, waitingLine}, {approvalDocument}] = await Promise.all([import('../approvals/gated-run.js'), import('../approvals/approval-text.js'), import('./approvals.js')]);
	if (!gated) {
		return claimForRun(ports, input.approved!, input.token);
	}

	const {request} = gated;
	if (input.noWait && input.json) {
		io.stdout(safeJson({approval: approvalDocument(request)}, 2) + '\n');
	}

	io.stderr(`xi-exec: ${waitingLine(request)}\n${approvalLines(request, new Date()).map(line => `  ${line}`).join('\n')}\n`);
	if (input.noWait) {
		io.stderr(`xi-exec: once approved, start it with \`xi-exec run --approved ${request.id}\` (with this token).\n`);
		return errorCodes.APPROVAL_PENDING.exit;
	}

	const stop = new AbortController();
	io.onInterrupt(() => {
		stop.abort();
	});
	try {
		return await waitThenClaim(ports, request, input.token, {signal: stop.signal});
	} catch (error) {
		if (stop.signal.aborted) {
			io.stderr(`\nxi-exec: stopped waiting; request ${request.id} stays open: \`xi-exec run --approved ${request.id}\` once approved.\n`);
			return exitInterrupted;
		}

		throw error;
	}
}

/** The hosts of an earlier run that ended in the given statuses, as they were resolved then. */
function rerunHosts(paths: ControllerPaths, rerun: {of: string; only: RunStatus[]}): {of: string; agents: string[]} {
	const run = findRun(historyDirectory(paths), rerun.of);
	return {of: rerun.of, agents: run.results.filter(result => rerun.only.includes(result.status)).map(result => result.agent)};
}
