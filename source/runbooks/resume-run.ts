/**
 * The resume side of the runbook use case (prepare-runbook.ts): the run resumed, refused while it
 * runs in another process or when its file changed (unless `changedFile`); its parameters (the
 * recorded ones, each secret given again and matching its hash); and what carries over from it
 * (the outcomes before the resume point, the steps left waiting for approval when the file is the
 * same, notes on hosts a step now matches that it did not).
 */
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import type {PendingStep} from './execute.js';
import type {Runbook} from './model.js';
import {secretHash} from './parameters.js';
import type {RunbookPlan} from './plan-runbook.js';
import {hostChangeNotes} from './host-changes.js';
import {findRunbookRun, runbookRunsDirectory, type StoredRunbookRun} from './record-store.js';
import {resumePoint} from './resume.js';
import {readRunbookBytes, runbookInvalid} from './runbook-files.js';
import {recordedOutcomes, waitingSteps, type RunbookRunHeader} from './run-record.js';
import type {StepOutcome} from './step-outcome.js';

export type ResumeRequest = {id: string; from?: string; changedFile?: boolean};

/** What a run takes over from the run it resumes (nothing, for a new run). */
export type CarriedOver = {
	carried: Map<string, StepOutcome>;
	pending: Map<string, PendingStep>;
	from?: {stage: number; step: string};
};

export const nothingCarried = (): CarriedOver => ({carried: new Map(), pending: new Map()});

/** The run to resume, refused while it still runs in another process. */
export function openResumed(paths: ControllerPaths, resume: ResumeRequest): StoredRunbookRun {
	const resumed = findRunbookRun(runbookRunsDirectory(paths), resume.id);
	if (resumed.running) {
		throw new XiError('RUNBOOK_RUNNING', `Runbook run ${resume.id} is still running in another process; cancel it or wait for it to end (a controller killed mid-run lets go within 15 s).`);
	}

	return resumed;
}

/** Refuses a runbook file that changed since the run resumed, unless the caller said `changedFile`. */
export function checkResumedFile(paths: ControllerPaths, name: string, header: RunbookRunHeader, changedFile: boolean | undefined): void {
	const bytes = readRunbookBytes(paths, name);
	if (bytes.sha256 !== header.fileSha256 && !changedFile) {
		throw new XiError('RUNBOOK_CHANGED', `${bytes.file} changed since run ${header.id} (its SHA-256 was ${header.fileSha256.slice(0, 12)}…, it is ${bytes.sha256.slice(0, 12)}… now); resume with --changed-file to run the file as it is now.`);
	}
}

/**
 * The outcomes, waiting steps and start point a resumed run takes over, and the plan's notes on
 * hosts that changed; `reason` when the resume point cannot be found.
 */
export function carryOver(runbook: Runbook, resumed: StoredRunbookRun, fromStep: string | undefined, sha256: string, plan: RunbookPlan): CarriedOver | {reason: string} {
	const {header} = resumed.record;
	const old = recordedOutcomes(resumed.record);
	const point = resumePoint(runbook, old, fromStep);
	if (!point.ok) {
		return {reason: point.reason};
	}

	const carried = new Map(point.carried.map(step => [step, old.get(step)!]));
	if (header.targets) {
		plan.notes.push(...hostChangeNotes(plan, {id: header.id, targets: header.targets}, new Set(carried.keys())));
	}

	return {
		carried,
		pending: sha256 === header.fileSha256 ? waitingSteps(resumed.record) : new Map<string, PendingStep>(),
		from: {stage: point.from, step: point.step},
	};
}

/** A resumed run's parameters: the recorded ones; each secret given again, matching its recorded hash. */
export function resumedParameters(runbook: Runbook, recorded: Readonly<Record<string, unknown>>, given: Readonly<Record<string, unknown>>): Record<string, unknown> {
	const problems: string[] = [];
	const values: Record<string, unknown> = {};
	for (const parameter of runbook.parameters) {
		if (!parameter.secret) {
			if (Object.hasOwn(given, parameter.name)) {
				problems.push(`parameter ${parameter.name}: a resumed run keeps the value its run had (${JSON.stringify(recorded[parameter.name])}); start a new run to change it`);
			} else if (Object.hasOwn(recorded, parameter.name)) {
				values[parameter.name] = recorded[parameter.name];
			}

			continue;
		}

		if (!Object.hasOwn(given, parameter.name)) {
			problems.push(`parameter ${parameter.name} is secret, so it was not recorded: give it again with --param ${parameter.name}=VALUE`);
		} else if (Object.hasOwn(recorded, parameter.name) && secretHash(given[parameter.name]) !== recorded[parameter.name]) {
			problems.push(`parameter ${parameter.name}: the value given is not the one the run used (its hash differs)`);
		} else {
			values[parameter.name] = given[parameter.name];
		}
	}

	for (const name of Object.keys(given)) {
		if (!runbook.parameters.some(parameter => parameter.name === name)) {
			problems.push(`parameter ${name} is not declared by runbook ${runbook.name}`);
		}
	}

	if (problems.length > 0) {
		throw runbookInvalid(`Cannot resume with these parameters`, problems);
	}

	return values;
}
