/**
 * A prepared runbook run's `start` (prepare-runbook.ts): record its start in the audit log (fail
 * closed: no record, no runbook) and in its own run record, write the steps carried over from a
 * run resumed, execute the rest, each step a normal run (step-runner.ts), and record the end.
 */
import {randomUUID} from 'node:crypto';
import {argsHash} from '../audit/record.js';
import type {TokenScope} from '../policy/tokens.js';
import {executeRunbook, type ExecuteResult, type RunbookEvent} from './execute.js';
import type {Runbook} from './model.js';
import {recordedParameters, type ParameterValues} from './parameters.js';
import type {RunbookPlan} from './plan-runbook.js';
import type {RunbookPorts, RunbookRunInput} from './prepare-runbook.js';
import {plannedTargets} from './host-changes.js';
import {runbookRunsDirectory, startRunbookRecord, watchCancelRequest} from './record-store.js';
import type {CarriedOver} from './resume-run.js';
import type {RunbookRunHeader} from './run-record.js';
import {runStepsAsRuns, type StepRunnerOptions} from './step-runner.js';

export type RunbookStartOptions = Omit<StepRunnerOptions, 'runbookRun' | 'caller' | 'source' | 'token' | 'cancelledBy'> & {
	/** This face's cancel (Ctrl-C, the API server's); a cancel from another process comes through the record. */
	cancel?: AbortSignal;
	/** Who fired `cancel`. */
	cancelledBy?: string;
	emit?: (event: RunbookEvent) => void;
};

/** Everything prepareRunbookRun checked and decided, which the start records and runs. */
export type CheckedRunbookRun = CarriedOver & {
	ports: RunbookPorts;
	input: RunbookRunInput;
	id: string;
	name: string;
	runbook: Runbook;
	file: string;
	sha256: string;
	values: ParameterValues;
	scope: TokenScope | undefined;
	plan: RunbookPlan;
	/** The header of the run resumed. */
	resumed: RunbookRunHeader | undefined;
	audit: ReturnType<RunbookPorts['audit']>;
	now: () => Date;
};

export async function startRunbookRun(run: CheckedRunbookRun, options: RunbookStartOptions): Promise<ExecuteResult & {id: string}> {
	const {ports, input, id, name, runbook, plan, carried, from, audit, now} = run;
	const header = runbookHeader(run);
	await audit.append({event: 'runbook.start', runbookRun: id, runbook: name, file: run.file, fileSha256: run.sha256, parameters: header.parameters, parametersHash: argsHash([JSON.stringify(header.parameters)]), caller: input.caller, source: input.source, token: header.token, resumeOf: header.resumeOf, from: from?.step, ...(plan.notes.length > 0 ? {notes: plan.notes} : {})});
	const record = await startRunbookRecord(runbookRunsDirectory(ports.paths), header);
	const cancel = cancelSources(record.path, options);
	try {
		for (const [step, outcome] of carried) {
			record.write({type: 'step-finished', step, outcome, at: now().toISOString(), carriedFrom: run.resumed!.id});
		}

		const result = await executeRunbook({runbook, plan, carried, from: from?.stage ?? 0, pending: run.pending}, {
			runStep: runStepsAsRuns(ports, {...options, runbookRun: id, runbookFile: {file: run.file, sha256: run.sha256}, caller: input.caller, ...(input.source ? {source: input.source} : {}), ...(input.token === undefined ? {} : {token: input.token}), cancelledBy: cancel.by}),
			write: record.write,
			now,
			newRequestId: randomUUID,
			cancel: cancel.signal,
			cancelledBy: cancel.by,
			checkCancel: cancel.check,
			...(options.emit ? {emit: options.emit} : {}),
		});
		await audit.append({event: 'runbook.end', runbookRun: id, runbook: name, status: result.status, reason: result.reason, steps: Object.fromEntries([...result.outcomes].map(([step, outcome]) => [step, {status: outcome.status, requestId: outcome.requestId, counts: outcome.counts}]))});
		return {...result, id};
	} finally {
		cancel.stop();
		await record.close();
	}
}

function runbookHeader(run: CheckedRunbookRun): RunbookRunHeader {
	const {scope, resumed} = run;
	return {
		type: 'runbook-run',
		id: run.id,
		runbook: run.name,
		file: run.file,
		fileSha256: run.sha256,
		parameters: recordedParameters(run.runbook, run.values),
		caller: run.input.caller,
		startedAt: run.now().toISOString(),
		...(scope ? {token: {id: scope.id, name: scope.name}} : {}),
		...(resumed ? {resumeOf: resumed.id, from: run.from!} : {}),
		...(resumed && run.sha256 !== resumed.fileSha256 ? {fileChanged: true} : {}),
		targets: plannedTargets(run.plan),
	};
}

/**
 * The run's one cancel signal, fired by the face's own cancel or by a cancel request another
 * process appends to the record; `by` names whoever came first.
 */
function cancelSources(path: string, options: RunbookStartOptions) {
	const controller = new AbortController();
	let by: string | undefined;
	const fire = (who: string | undefined) => {
		if (!controller.signal.aborted) {
			by = who;
			controller.abort();
		}
	};

	const onLocal = () => fire(options.cancelledBy);
	if (options.cancel?.aborted) {
		onLocal();
	} else {
		options.cancel?.addEventListener('abort', onLocal, {once: true});
	}

	const watch = watchCancelRequest(path, request => fire(request.by));
	return {
		signal: controller.signal,
		by: () => by,
		check: watch.check,
		stop() {
			watch.stop();
			options.cancel?.removeEventListener('abort', onLocal);
		},
	};
}
