/**
 * What the runbook tests share: a runbook read from YAML (a test's text is valid, or it says
 * why not), registered agents, their discovery answers, and a runbook planned against them.
 */
import type {Discovered} from '../../source/dispatch/discover.js';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import type {AgentRecord} from '../../source/registry/model.js';
import type {Runbook} from '../../source/runbooks/model.js';
import {planRunbook, type RunbookPlan} from '../../source/runbooks/plan-runbook.js';
import {readRunbook} from '../../source/runbooks/read-runbook.js';

/** A runbook from YAML text; a test's text that is not valid throws with every problem. */
export function runbookOf(text: string, name = 't'): Runbook {
	const read = readRunbook(name, text, 'yaml');
	if (!read.ok) {
		throw new Error(read.problems.join('\n'));
	}

	return read.runbook;
}

/** A registered agent with these tags (its address and certificate are placeholders: nothing dials them). */
export function agentOf(name: string, tags: Record<string, string>): AgentRecord {
	return {name, address: '127.0.0.1:1', tags, serial: '01', fingerprint: 'ff', pairedAt: '2026-01-01T00:00:00.000Z', certificateExpires: '2099-01-01T00:00:00.000Z'};
}

/** A discovery answer: the agent is reachable and runs these scripts (names: no argument schema). */
export function reachable(name: string, scripts: ReadonlyArray<ScriptDescription | string>): Discovered {
	return {name, address: '127.0.0.1:1', status: 'reachable', scripts: scripts.map(script => (typeof script === 'string' ? {name: script, description: '', timeoutSeconds: 30} : script))};
}

/** A runbook planned against a fleet; a plan with problems throws with every one. */
export function planOf(runbook: Runbook, fleet: {agents: readonly AgentRecord[]; discovered: readonly Discovered[]}, params: Readonly<Record<string, unknown>> = {}): RunbookPlan {
	const planned = planRunbook(runbook, params, fleet);
	if (!planned.ok) {
		throw new Error(planned.problems.join('\n'));
	}

	return planned.plan;
}
