/**
 * The tools that run something: a script's own tool (checked like every script call, then gated
 * by the approvals policy or run) and `wait_approval` (runs exactly the approved plan once an
 * operator approved it). A run started here is in `ports.live` while it goes, so `cancel_run`
 * stops it here.
 */
import {ErrorCode, McpError} from '@modelcontextprotocol/sdk/types.js';
import {awaitOwnApproval, resolveGated} from '../approvals/gated-run.js';
import {executePlan} from '../core/run-execute.js';
import {checkScriptCall} from '../core/script-call.js';
import {createRunConnections, type RunConnections} from '../dispatch/held-connections.js';
import type {TokenScope} from '../policy/tokens.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import {collectResults} from '../run/collect-results.js';
import {dryRunAnswer, dryRunDocumentOf} from '../run/dry-run-document.js';
import type {RunEvent} from '../run/events.js';
import type {RunPlan} from '../run/plan.js';
import {approvalView, pendingApprovalResult} from './approval-results.js';
import type {ScriptCallInput} from './call-input.js';
import {collectHostViews, dryRunToolResult, hostsToolResult, type ToolResult} from './results.js';
import type {SessionContext} from './session-context.js';
import type {LiveRun} from './session-ports.js';

/** Told the run's request id once the run is recorded (the call's audit record names it). */
export type Started = (requestId: string) => void;

export async function runScriptTool(session: SessionContext, tool: string, call: ScriptCallInput, current: TokenScope, signal: AbortSignal, started: Started): Promise<ToolResult> {
	const {set} = await session.toolSet(current);
	const entry = set.scripts.get(tool);
	if (!entry) {
		// Not a tool this token has now (a script not in its scope, or gone): a malformed call.
		throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${tool}: tools/list names the tools this token has.`);
	}

	const {ports, who, source} = session;
	const checked = await checkScriptCall({registry: async () => ports.registry.read(), audit: ports.audit, discovery: ports.discovery, discoveryMaxAgeMs: ports.discoveryMaxAgeMs}, {script: entry.script, args: call.args, on: call.on, scope: current, caller: who, client: session.client(), ...source});
	// The allowlist entry's own time limit decides (the agent takes the smaller of the two).
	const timeoutSeconds = Math.max(...checked.entry.variants.map(variant => variant.timeoutSeconds));
	// One TLS connection per host for the describe and the run, as `xi-exec run` keeps them.
	const connections = createRunConnections();
	// A run the approvals policy gates (an AI caller on a `confirm` script, say) waits for an operator instead of running.
	const gated = await resolveGated({...session.planPorts(), connections},
		{script: entry.script, args: call.args, on: call.on, parallel: 64, timeoutSeconds, dryRun: call.dryRun, caller: who, ...source, token: session.caller.token, client: session.client(), aiCaller: true}, {ai: true});
	if (gated.type === 'wait') {
		connections.close();
		return pendingApprovalResult(gated.request, gated.plan.requestId);
	}

	return executeToolRun(session, gated.plan, signal, started, undefined, connections);
}

export async function waitApprovalTool(session: SessionContext, call: {approvalId: string; timeoutSeconds: number}, signal: AbortSignal, started: Started): Promise<ToolResult> {
	const decided = await awaitOwnApproval(session.planPorts(), call.approvalId, session.caller.token, {timeoutMs: call.timeoutSeconds * 1000, signal, from: {...session.source, client: session.client()}});
	if (decided.type === 'wait') {
		return pendingApprovalResult(decided.request, (decided.request.plan as RunPlan | undefined)?.requestId ?? decided.request.id);
	}

	return executeToolRun(session, decided.plan, signal, started, {approval: decided.approval, view: approvalView(decided.request)});
}

/** Executes a plan (as resolved, or as approved) and answers its hosts' results. */
async function executeToolRun(session: SessionContext, plan: RunPlan, signal: AbortSignal, started: Started, approved?: {approval: ApprovalClaim; view: ReturnType<typeof approvalView>}, connections?: RunConnections): Promise<ToolResult> {
	const {ports, who, source} = session;
	const live: LiveRun = {caller: who, cancel: new AbortController(), running: new Set(), targets: plan.targets.map(target => target.name)};
	ports.live.set(plan.requestId, live);
	const collected = toolAnswer(plan, ports.maxOutputBytes, (event: RunEvent) => {
		trackRunning(live, event);
	});
	try {
		const execution = await executePlan({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.context(), controllerSerial: ports.controllerSerial(), now: ports.now, ...(connections ? {connections} : {})}, plan, {
			// The client cancelling its request (notifications/cancelled), cancel_run, or the server stopping.
			cancel: AbortSignal.any([signal, live.cancel.signal, ports.stopping]),
			cancelledBy: who,
			...(approved ? {approval: approved.approval} : {}),
			...source.source === undefined ? {} : {cancelledFrom: source.source},
			emit: collected.emit,
		});
		started(plan.requestId);
		const outcome = await execution.outcome;
		if (outcome.historyProblem) {
			ports.log(`run ${plan.requestId}: ${outcome.historyProblem}`);
		}

		const answer = collected.answer(outcome.cancelled);
		return approved && !plan.dryRun ? {...answer, structuredContent: {...answer.structuredContent, approval: {...approved.view, state: 'used'}}} : answer;
	} finally {
		ports.live.delete(plan.requestId);
	}
}

/**
 * The tool's answer, collected as the run goes: every host's result, its output cut to the
 * token's budget as the host finishes; a dry run's answers (no output) whole.
 */
function toolAnswer(plan: RunPlan, maxOutputBytes: number, forward: (event: RunEvent) => void): {emit: (event: RunEvent) => void; answer: (cancelled: boolean) => ToolResult} {
	if (plan.dryRun) {
		// Each host's answer, not its whole result.
		const answers = collectResults(forward, dryRunAnswer);
		return {emit: answers.emit, answer: () => dryRunToolResult(dryRunDocumentOf({requestId: plan.requestId, script: plan.script, args: plan.shownArgs}, answers.results()))};
	}

	const hosts = collectHostViews(maxOutputBytes, forward);
	return {emit: hosts.emit, answer: cancelled => hostsToolResult({requestId: plan.requestId, script: plan.script, dryRun: false, cancelled, complete: true}, hosts.results())};
}

/**
 * Which hosts a live run has in flight now, for `cancel_run`: from the moment the host is dialled,
 * not from its `started` frame (which may still be on its way when the agent runs the script), since
 * the cancel reaches every host dialled.
 */
export function trackRunning(live: LiveRun, event: RunEvent): void {
	if (event.type === 'agent-connecting') {
		live.running.add(event.agent);
	} else if (event.type === 'agent-finished') {
		live.running.delete(event.result.agent);
	}
}
