/** `list_agents`: the agents in the token's scope (or the ones it names), what each runs that the token may call, and under which tool. */
import {XiError} from '../errors.js';
import {reachProblem, scopeAllowsScript, type TokenScope} from '../policy/tokens.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import {dataResult, type ToolResult} from './results.js';
import type {SessionContext} from './session-context.js';
import {oneLine} from './untrusted-text.js';

export async function listAgentsTool(session: SessionContext, current: TokenScope, on: string[] | undefined): Promise<ToolResult> {
	const {ports} = session;
	let agents = await session.inScope(current);
	if (on) {
		agents = resolveTargets(await ports.registry.read(), on);
		const problem = reachProblem(current, agents);
		if (problem) {
			throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}; select agents within the token's scope.`);
		}
	}

	const found = await ports.discovery.discover(agents, {maxAgeMs: ports.discoveryMaxAgeMs});
	const {set} = await session.toolSet(current);
	const toolOf = new Map([...set.scripts.values()].map(entry => [entry.script, entry.tool]));
	const views = agents.map((agent, index) => {
		const answer = found[index]!;
		return {
			name: agent.name,
			tags: agent.tags,
			status: answer.status,
			reason: answer.reason === undefined ? null : oneLine(answer.reason, 300),
			scripts: answer.scripts.filter(entry => typeof entry?.name === 'string' && scopeAllowsScript(current, entry.name)).map(entry => ({
				name: entry.name,
				tool: toolOf.get(entry.name) ?? null,
				description: oneLine(typeof entry.description === 'string' ? entry.description : '', 300),
				readOnly: entry.readOnly === true,
				confirm: entry.confirm === true,
			})),
		};
	});
	const reachable = views.filter(view => view.status === 'reachable').length;
	return dataResult(`${views.length} ${views.length === 1 ? 'agent' : 'agents'} in scope, ${reachable} reachable.`, {agents: views, hidden: set.hidden});
}
