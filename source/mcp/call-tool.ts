/**
 * One `tools/call`, start to end: the token as it is now (a refusal is a tool error), the
 * arguments against the tool's envelope (a misfit is a protocol error), a slot from the call
 * limiter, the tool itself, and one `mcp.call` record of how it ended. An XiError from a tool is
 * its refusal, answered as a tool error with the exact reason; anything else is the SDK's to answer.
 */
import {ErrorCode, McpError} from '@modelcontextprotocol/sdk/types.js';
import {isXiError} from '../errors.js';
import type {CallAdmission} from '../policy/call-limits.js';
import type {TokenScope} from '../policy/tokens.js';
import {listAgentsTool} from './agent-tools.js';
import {checkArguments, type CallInput} from './call-input.js';
import {refusalResult, type ToolResult} from './results.js';
import {cancelOwnRun, getOwnRun, listOwnRuns} from './run-tools.js';
import type {SessionContext} from './session-context.js';
import {runScriptTool, waitApprovalTool, type Started} from './script-tools.js';

export async function callTool(session: SessionContext, tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<ToolResult> {
	let current: TokenScope;
	try {
		current = await session.currentScope();
	} catch (error) {
		await session.audit({tool, outcome: 'refused', code: 'TOKEN_INVALID', reason: (error as Error).message});
		return refusalResult('TOKEN_INVALID', (error as Error).message);
	}

	const call = checkArguments(tool, input);
	if (typeof call === 'string') {
		throw new McpError(ErrorCode.InvalidParams, call);
	}

	const admission = await admit(session, tool, current, call);
	if ('content' in admission) {
		return admission;
	}

	let requestId: string | undefined;
	try {
		const result = await runTool(session, tool, call, current, signal, id => {
			requestId = id;
		});
		await session.audit({tool, outcome: result.isError ? 'not ok' : 'ok', requestId});
		return result;
	} catch (error) {
		if (!isXiError(error)) {
			throw error;
		}

		await session.audit({tool, outcome: 'refused', code: error.code, reason: error.message, requestId});
		return refusalResult(error.code, error.message);
	} finally {
		await admission.done().catch((error: unknown) => {
			session.ports.log(`the end of an MCP call could not be recorded in the call ledger: ${(error as Error).message}`);
		});
	}
}

/** A slot from the call limiter, or the refusal (audited) when the token is over a limit. */
async function admit(session: SessionContext, tool: string, current: TokenScope, call: CallInput): Promise<Extract<CallAdmission, {ok: true}> | ToolResult> {
	let admission: CallAdmission;
	try {
		// Cancelling one's own run never waits for a slot: it only counts per minute.
		admission = await session.ports.limiter.admit(current, {slot: call.kind !== 'cancel_run'});
	} catch (error) {
		if (!isXiError(error)) {
			throw error;
		}

		await session.audit({tool, outcome: 'refused', code: error.code, reason: error.message});
		return refusalResult(error.code, error.message);
	}

	if (!admission.ok) {
		const message = `Refused: ${admission.reason}.`;
		await session.audit({tool, outcome: 'refused', code: 'RATE_LIMITED', reason: message});
		return refusalResult('RATE_LIMITED', message);
	}

	return admission;
}

/** The tool the call names. `started` is told a run's request id (or the run asked about) as soon as it is known. */
async function runTool(session: SessionContext, tool: string, call: CallInput, current: TokenScope, signal: AbortSignal, started: Started): Promise<ToolResult> {
	switch (call.kind) {
		case 'list_agents': {
			return listAgentsTool(session, current, call.on);
		}

		case 'list_runs': {
			return listOwnRuns(session, call.limit);
		}

		case 'get_run': {
			started(call.requestId);
			return getOwnRun(session, call.requestId);
		}

		case 'cancel_run': {
			started(call.requestId);
			return cancelOwnRun(session, call.requestId);
		}

		case 'wait_approval': {
			return waitApprovalTool(session, call, signal, started);
		}

		case 'script': {
			return runScriptTool(session, tool, call, current, signal, started);
		}
	}
}
