/**
 * A runbook run as recorded: one JSON line per fact, written durably as it happens, so a
 * controller killed mid-runbook leaves every finished step and the one in flight readable. The
 * header records the file's SHA-256 and the parameters (secrets as hashes); each step's start
 * (with the request id of its run, before anything is dialled) and its outcome follow; the end
 * line closes it. Folding the lines gives the document `runbooks show ID --json` and
 * GET /v1/runbook-runs/{id} both print. Pure.
 */
import type {NotRun, RunbookStatus} from './flow.js';
import type {ApprovalRef, StepOutcome} from './step-outcome.js';

export type RunbookRunHeader = {
	type: 'runbook-run';
	id: string;
	runbook: string;
	/** The file as read, relative to the controller's home. */
	file: string;
	fileSha256: string;
	parameters: Record<string, unknown>;
	caller: string;
	startedAt: string;
	token?: {id: string; name: string};
	/** A resumed run: the run it continues, and the step it starts from. */
	resumeOf?: string;
	from?: {stage: number; step: string};
	/** Resumed although the file changed since the run it continues (--changed-file). */
	fileChanged?: boolean;
	/** Each selector step's hosts as the run was checked (a resume says which hosts changed since). */
	targets?: Record<string, string[]>;
};

export type RunbookRunLine =
	| RunbookRunHeader
	| {type: 'step-started'; step: string; requestId: string; at: string}
	/** The step waits for two-person approval (in this process, or not at all: --no-wait). */
	| {type: 'step-waiting'; step: string; requestId: string; approval: ApprovalRef; at: string}
	| {type: 'step-finished'; step: string; outcome: StepOutcome; at: string; carriedFrom?: string}
	| {type: 'end'; status: RunbookStatus; reason?: string; notRun: NotRun[]; at: string; cancelledBy?: string}
	/** Appended by another process (`xi-exec runbook cancel ID`, the API): the process running the run stops at it. */
	| CancelRequestLine;

export type CancelRequestLine = {type: 'cancel-requested'; by: string; source?: string; at: string};

export type RecordedStep = {
	name: string;
	/**
	 * `running`: started and not finished (in flight, or in flight when the controller stopped);
	 * `waiting`: waiting for approval (in flight, or ended so: --no-wait).
	 */
	status: StepOutcome['status'] | 'running';
	requestId?: string;
	/** The approval request it waited for. */
	approval?: ApprovalRef;
	startedAt?: string;
	endedAt?: string;
	outcome?: StepOutcome;
	carriedFrom?: string;
};

export type RunbookRunRecord = {
	header: RunbookRunHeader;
	steps: RecordedStep[];
	/** The first cancel asked from another process, if any. */
	cancelRequest?: CancelRequestLine;
	end?: Extract<RunbookRunLine, {type: 'end'}>;
};

/** Folds a record's lines (a torn last line is skipped); undefined without a header. */
export function foldRunbookRun(lines: readonly string[]): RunbookRunRecord | undefined {
	let header: RunbookRunHeader | undefined;
	const steps = new Map<string, RecordedStep>();
	let end: RunbookRunRecord['end'];
	let cancelRequest: CancelRequestLine | undefined;
	for (const text of lines) {
		let line: RunbookRunLine;
		try {
			line = JSON.parse(text) as RunbookRunLine;
		} catch {
			continue;
		}

		switch (line.type) {
			case 'runbook-run': {
				header = line;
				break;
			}

			case 'step-started': {
				steps.set(line.step, {name: line.step, status: 'running', requestId: line.requestId, startedAt: line.at});
				break;
			}

			case 'step-waiting': {
				steps.set(line.step, {...steps.get(line.step), name: line.step, status: 'waiting', requestId: line.requestId, approval: line.approval});
				break;
			}

			case 'step-finished': {
				const started = steps.get(line.step);
				steps.delete(line.step);
				steps.set(line.step, {
					...started,
					name: line.step,
					status: line.outcome.status,
					...(line.outcome.requestId ? {requestId: line.outcome.requestId} : {}),
					endedAt: line.at,
					outcome: line.outcome,
					...(line.carriedFrom ? {carriedFrom: line.carriedFrom} : {}),
					...(line.outcome.approval ? {approval: line.outcome.approval} : {}),
				});
				break;
			}

			case 'end': {
				end = line;
				break;
			}

			case 'cancel-requested': {
				cancelRequest ??= line;
				break;
			}

			default: {
				break;
			}
		}
	}

	return header ? {header, steps: [...steps.values()], ...(cancelRequest ? {cancelRequest} : {}), ...(end ? {end} : {})} : undefined;
}

/** The outcomes of the steps that finished, by name. */
export function recordedOutcomes(record: RunbookRunRecord): Map<string, StepOutcome> {
	return new Map(record.steps.flatMap(step => (step.outcome ? [[step.name, step.outcome] as const] : [])));
}

/**
 * The run's status: its end line's, or `interrupted` when it has none and no process is running it
 * (the controller stopped mid-runbook; `runbook run --resume ID` continues it).
 */
export function recordStatus(record: RunbookRunRecord, running: boolean): RunbookStatus | 'running' | 'interrupted' {
	return record.end?.status ?? (running ? 'running' : 'interrupted');
}

/** One runbook run as a document: the same for `runbooks show ID --json` and GET /v1/runbook-runs/{id}. */
export function runbookRunDocument(record: RunbookRunRecord, running = false) {
	const {header} = record;
	return {
		id: header.id,
		runbook: header.runbook,
		file: header.file,
		fileSha256: header.fileSha256,
		parameters: header.parameters,
		caller: header.caller,
		...(header.token ? {token: header.token} : {}),
		startedAt: header.startedAt,
		endedAt: record.end?.at ?? null,
		status: recordStatus(record, running),
		reason: record.end?.reason ?? null,
		resumeOf: header.resumeOf ?? null,
		...(header.from ? {from: header.from.step} : {}),
		steps: record.steps.map(step => ({
			name: step.name,
			status: step.status,
			requestId: step.requestId ?? null,
			startedAt: step.startedAt ?? null,
			endedAt: step.endedAt ?? null,
			counts: step.outcome?.counts ?? {},
			hosts: step.outcome?.hosts ?? {ok: [], failed: []},
			reason: step.outcome?.reason ?? inFlightReason(step, running),
			...(step.outcome?.code ? {code: step.outcome.code} : {}),
			...(step.approval ? {approval: step.approval} : {}),
			...(step.carriedFrom ? {carriedFrom: step.carriedFrom} : {}),
		})),
		notRun: record.end?.notRun ?? [],
		cancel: cancelDocument(record),
	};
}

function inFlightReason(step: RecordedStep, running: boolean): string | null {
	if (step.status === 'waiting' && step.approval) {
		return `waiting for approval: request ${step.approval.id} (needs ${step.approval.needs})${running ? '' : ', when the controller stopped'}`;
	}

	return step.status === 'running' && !running ? 'in flight when the controller stopped' : null;
}

/** The steps that wait for approval (ended `waiting`, or waiting when the run stopped), by name: what `--resume` continues under the same request. */
export function waitingSteps(record: RunbookRunRecord): Map<string, {requestId: string; approval: string}> {
	return new Map(record.steps.flatMap(step => (step.status === 'waiting' && step.approval && step.requestId ? [[step.name, {requestId: step.requestId, approval: step.approval.id}] as const] : [])));
}

/**
 * Who cancelled a cancelled run and where it stopped: the steps in flight then (ended
 * `cancelled`), or else the step it stopped before (the first not run). Null for a run not cancelled.
 */
function cancelDocument(record: RunbookRunRecord) {
	if (record.end?.status !== 'cancelled') {
		return null;
	}

	const during = record.steps.filter(step => step.status === 'cancelled' || ((step.status === 'running' || step.status === 'waiting') && !step.carriedFrom)).map(step => step.name);
	return {
		by: record.end.cancelledBy ?? record.cancelRequest?.by ?? null,
		...(record.cancelRequest?.source ? {source: record.cancelRequest.source} : {}),
		requestedAt: record.cancelRequest?.at ?? null,
		during,
		before: during.length > 0 ? null : (record.end.notRun[0]?.step ?? null),
	};
}

/** Where a cancelled run stopped, in words: `during step S` or `before step S`. */
export function cancelPlace(cancel: NonNullable<ReturnType<typeof cancelDocument>>): string {
	return cancel.during.length > 0 ? `during step ${cancel.during.join(', ')}` : (cancel.before ? `before step ${cancel.before}` : 'after its last step');
}

export type RunbookRunDocument = ReturnType<typeof runbookRunDocument>;
