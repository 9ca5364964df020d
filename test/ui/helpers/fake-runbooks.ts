/**
 * A RunbooksPort for console tests: fixed runbook entries, dry runs the test answers, and runs
 * whose events, questions and end the test drives (as the runbook core would). No socket, no file.
 */
import type {ApprovalRequest} from '../../../source/approvals/request.js';
import type {RunEvent} from '../../../source/run/events.js';
import type {RunbookEvent} from '../../../source/runbooks/execute.js';
import type {RunbookStatus} from '../../../source/runbooks/flow.js';
import type {PlanDocument} from '../../../source/runbooks/plan-document.js';
import type {RunbookEntry, RunbookRunEntry, RunbookRunHandlers, RunbooksPort, RunbookStart} from '../../../source/ui/core.js';

export const drainEntry: RunbookEntry = {
	name: 'drain-and-restart',
	file: 'runbooks/drain-and-restart.yaml',
	description: 'Check, restart where the check failed, check again',
	parameters: [
		{name: 'site', description: 'The site in trouble', schema: {enum: ['london', 'paris']}, default: 'london', secret: false},
		{name: 'workers', schema: {type: 'integer', minimum: 1, maximum: 16}, default: 4, secret: false},
		{name: 'password', schema: {type: 'string', minLength: 4}, secret: true},
	],
	steps: 3,
	problems: [],
};

export const brokenEntry: RunbookEntry = {name: 'broken', file: 'runbooks/broken.yaml', parameters: [], steps: 0, problems: ['steps[0].script: must be a script name']};

const step = (name: string, script: string, targets: string[], on: Record<string, unknown>, policy: Array<{agent: string; status: string; reason?: string}>) => ({
	name, description: null, script, args: [], on, targets, onFailure: 'stop', when: 'previous.ok', rollout: {}, policy,
});

export const drainPlan: PlanDocument = {
	name: 'drain-and-restart',
	description: 'Check, restart where the check failed, check again',
	file: 'runbooks/drain-and-restart.yaml',
	fileSha256: 'ab'.repeat(32),
	parameters: [
		{name: 'site', description: 'The site in trouble', schema: {enum: ['london', 'paris']}, secret: false, value: 'london'},
		{name: 'workers', description: null, schema: {type: 'integer'}, secret: false, value: 4},
		{name: 'password', description: null, schema: {type: 'string'}, secret: true, value: 'secret:sha256:5e884898da28047151d0e56f8dc62927'},
	],
	stages: [
		{parallel: false, when: 'previous.ok', steps: [step('check', 'check-service', ['web1', 'web3', 'db1'], {selector: ['site=london']}, [{agent: 'web1', status: 'would run'}, {agent: 'web3', status: 'would run'}, {agent: 'db1', status: 'denied', reason: 'policy: db hosts are checked by the DBA'}])]},
		{parallel: false, when: 'previous.ok', steps: [step('restart', 'restart-app', ['web1', 'web3', 'db1'], {failedIn: 'check'}, [{agent: 'web1', status: 'would run'}, {agent: 'web3', status: 'would run'}])]},
		{parallel: false, when: 'previous.ok', steps: [step('recheck', 'check-service', ['web1', 'web3', 'db1'], {failedIn: 'check'}, [{agent: 'web1', status: 'would run'}, {agent: 'web3', status: 'would run'}])]},
	],
	handlers: [],
	notes: [],
} as unknown as PlanDocument;

export type FakeRunbookRun = {
	name: string;
	params: Readonly<Record<string, unknown>>;
	start?: RunbookStart;
	handlers: RunbookRunHandlers;
	cancelled: boolean;
	record: (id: string) => void;
	refuse: (error: Error) => void;
	emit: (event: RunbookEvent) => void;
	/** The hosts' events of one step, as the step's run emits them. */
	step: (step: string, event: RunEvent) => void;
	end: (status: RunbookStatus, reason?: string) => void;
};

export class FakeRunbooks implements RunbooksPort {
	entries: RunbookEntry[] = [drainEntry, brokenEntry];
	plans: Array<{name: string; params: Readonly<Record<string, unknown>>; start?: RunbookStart; answer: (plan: PlanDocument) => void; refuse: (error: Error) => void}> = [];
	/** The runs started through this port, in order. */
	started: FakeRunbookRun[] = [];
	/** The runbook runs in the history, as `runs()` lists them. */
	history: RunbookRunEntry[] = [];

	async list() {
		return this.entries;
	}

	async runs() {
		return this.history;
	}

	async plan(name: string, params: Readonly<Record<string, unknown>>, start?: RunbookStart) {
		return new Promise<PlanDocument>((answer, refuse) => {
			this.plans.push({name, params, ...(start ? {start} : {}), answer, refuse});
		});
	}

	run(name: string, params: Readonly<Record<string, unknown>>, handlers: RunbookRunHandlers, start?: RunbookStart) {
		let record!: (value: {id: string}) => void;
		let refuse!: (error: Error) => void;
		let end!: (value: {id: string; status: RunbookStatus; reason?: string}) => void;
		const started = new Promise<{id: string}>((resolve, reject) => {
			record = resolve;
			refuse = reject;
		});
		const done = new Promise<{id: string; status: RunbookStatus; reason?: string}>(resolve => {
			end = resolve;
		});
		const run: FakeRunbookRun = {
			name,
			params,
			...(start ? {start} : {}),
			handlers,
			cancelled: false,
			record: id => record({id}),
			refuse: error => refuse(error),
			emit: event => handlers.onEvent(event),
			step: (step, event) => handlers.onEvent({type: 'step-event', step, event}),
			end: (status, reason) => end({id: 'run-1', status, ...(reason ? {reason} : {})}),
		};
		this.started.push(run);
		return {started, done, cancel: () => {
			run.cancelled = true;
		}};
	}
}

export const waitingRequest = {id: '7c1e0000-0000-4000-8000-000000000001'} as ApprovalRequest;
