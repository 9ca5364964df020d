/**
 * Starting a run from the REST API: the run use case (resolvePlan, then executePlan) fed the
 * body, with the run made live for its event stream and cancellable by the server stopping or by
 * POST /v1/runs/{id}/cancel. Answers 202 at once, or the document `run --json` prints. A run the
 * controller's approvals policy gates is not run: the request is opened and the answer is 409
 * APPROVAL_PENDING naming it, in its message and in a typed `approval` (run-schemas.ts,
 * pendingApprovalSchema); POST /v1/approvals/{id}/run starts the approved plan (startPlan).
 */
import type {FastifyReply, FastifyRequest} from 'fastify';
import {resolveGated} from '../approvals/gated-run.js';
import {describeNeeds} from '../approvals/requirement.js';
import {executePlan, type RunStartOptions} from '../core/run-execute.js';
import {createRunConnections, type RunConnections} from '../dispatch/held-connections.js';
import {XiError} from '../errors.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import type {RunPlan} from '../run/plan.js';
import {createDryRunView} from '../output/dry-run-view.js';
import {selectorValues} from '../policy/selector.js';
import type {RunEvent} from '../run/events.js';
import type {TokenCaller} from './caller-scope.js';
import type {ApiPorts} from './route-file.js';
import {createRunAnswerStream} from './run-answer-stream.js';
import {runControlFromBody, type RunControlBody} from './run-options.js';

export type RunBody = RunControlBody & {script?: string; args: string[]; on: string | string[]; parallel: number; timeoutSeconds: number; dryRun: boolean; wait: boolean; yes: boolean};

export async function startRun(ports: ApiPorts, request: FastifyRequest, reply: FastifyReply, caller: TokenCaller, body: RunBody & {script: string}): Promise<unknown> {
	const control = runControlFromBody(body);
	// One TLS connection per host for the describe and the run, as `xi-exec run` keeps them.
	const connections = createRunConnections();
	const gated = await resolveGated({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, now: ports.now, connections}, {
		script: body.script,
		args: body.args,
		on: selectorValues(body.on),
		parallel: body.parallel,
		timeoutSeconds: body.timeoutSeconds,
		dryRun: body.dryRun,
		caller: `api:${caller.scope.name}`,
		source: request.ip,
		token: caller.token,
		rollout: control.rollout,
		yes: body.yes,
	});
	if (gated.type === 'wait') {
		connections.close();
		const {request: opened} = gated;
		const follow = `/v1/approvals/${opened.id}`;
		const approval = {id: opened.id, needs: opened.needs.map(({name, approvers, quorum}) => ({name, approvers, quorum})), expiresAt: opened.expiresAt, follow, run: `${follow}/run`};
		throw new XiError('APPROVAL_PENDING', `This run waits for approval: request ${opened.id} (needs ${describeNeeds({rules: opened.needs})}), until ${opened.expiresAt}. Nothing has run. GET ${follow} follows it; once approved, POST ${follow}/run with this token runs exactly this plan.`, {details: {approval}});
	}

	return startPlan(ports, reply, gated.plan, {wait: body.wait, approveCanary: control.approveCanary, connections}).catch((error: unknown) => {
		// Whatever stopped the run before it took them (closing twice is harmless).
		connections.close();
		throw error;
	});
}

/**
 * Executes a resolved (or approved) plan: live for its event stream, cancellable; 202 at once, or
 * the `run --json` document streamed as hosts finish (run-answer-stream.ts), or a dry run's document.
 */
export async function startPlan(ports: ApiPorts, reply: FastifyReply, plan: RunPlan, options: {wait: boolean; approveCanary?: RunStartOptions['approveCanary']; approval?: ApprovalClaim; connections?: RunConnections}): Promise<unknown> {
	const control = {approveCanary: options.approveCanary};
	const live = ports.live.begin({requestId: plan.requestId, script: plan.script, targets: plan.targets.map(target => target.name), ...(plan.dryRun ? {dryRun: true} : {})});
	// The answer is written by the very writer `run --json` (or `run --dry-run --json`) prints with, fed the same events.
	const answer = options.wait ? waitedAnswer(ports, plan) : undefined;
	const emit = (event: RunEvent) => {
		answer?.onEvent(event);
		live.emit(event);
	};

	// Cancelled by the server stopping, or by POST /v1/runs/{id}/cancel: the core records who
	// and from where when the cancel comes (so these are read then).
	const cancelledHere = () => (live.cancel.signal.aborted ? live.cancel.signal.reason as {by: string; from: string} : undefined);
	const startOptions: RunStartOptions = {
		emit,
		cancel: AbortSignal.any([ports.stopping, live.cancel.signal]),
		get cancelledBy() {
			return cancelledHere()?.by ?? 'xi-exec serve (stopping)';
		},
		get cancelledFrom() {
			return cancelledHere()?.from;
		},
		...(control.approveCanary ? {approveCanary: control.approveCanary} : {}),
		...(options.approval ? {approval: options.approval} : {}),
	};
	const execution = await executePlan({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, controllerSerial: ports.controllerSerial, now: ports.now, ...(options.connections ? {connections: options.connections} : {})}, plan, startOptions).catch((error: unknown) => {
		// Not recorded, so not run: nothing is live.
		ports.live.end(plan.requestId);
		throw error;
	});
	const done = execution.outcome.finally(() => {
		ports.live.end(plan.requestId);
	});
	ports.running.add(done);
	void done.catch(() => undefined).finally(() => ports.running.delete(done));
	const logged = done.then(outcome => {
		if (outcome.historyProblem) {
			ports.log(`run ${plan.requestId}: ${outcome.historyProblem}`);
		}
	}, (error: unknown) => {
		ports.log(`run ${plan.requestId}: ${(error as Error).message}`);
		throw error;
	});
	if (!answer) {
		void logged.catch(() => undefined);
		reply.code(202);
		return {requestId: plan.requestId, events: `/v1/runs/${plan.requestId}/events`, run: `/v1/runs/${plan.requestId}`};
	}

	return answer.send(reply, logged);
}

type WaitedAnswer = {onEvent: (event: RunEvent) => void; send: (reply: FastifyReply, done: Promise<void>) => Promise<unknown>};

/**
 * A run's document streams as its hosts finish; a dry run's (every host's answer, by name) is sent
 * once all have answered: the view keeps a few fields per host, and its text is the body, as
 * `run --dry-run --json` prints it (not parsed and written again).
 */
function waitedAnswer(ports: ApiPorts, plan: RunPlan): WaitedAnswer {
	if (plan.dryRun) {
		let written = '';
		const view = createDryRunView(text => (written += text), {json: true});
		return {
			onEvent: event => {
				view.onEvent(event);
			},
			async send(reply, done) {
				await done;
				return reply.type('application/json; charset=utf-8').send(written);
			},
		};
	}

	const stream = createRunAnswerStream({check: ports.checkEvent});
	stream.body.on('error', (error: Error) => {
		ports.log(`run ${plan.requestId}: the answer was cut: ${error.message}`);
	});
	return {
		onEvent: stream.onEvent,
		async send(reply, done) {
			done.then(() => {
				if (stream.omitted() > 0) {
					ports.log(`run ${plan.requestId}: ${stream.omitted()} results went to a slow client without their output`);
				}

				stream.end();
			}, (error: unknown) => {
				stream.fail(error as Error);
			});
			return reply.type('application/json; charset=utf-8').header('content-location', `/v1/runs/${plan.requestId}`).send(stream.body);
		},
	};
}
