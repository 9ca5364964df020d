/** `list_agents`: the agents in the token's scope (or the ones it names), as the core's agent view, with the scripts the token may call and their tools. */
import {agentViews} from '../core/agents-view.js';
import {XiError} from '../errors.js';
import {reachProblem, scopeAllowsScript, type TokenScope} from '../policy/tokens.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import {agentListResult, mcpAgentView} from './agent-answers.js';
import type {ToolResult} from './results.js';
import type {SessionContext} from './session-context.js';

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
	const views = agentViews(agents, found, ports.now().toISOString(), script => scopeAllowsScript(current, script), ports.registry.presence?.());
	return agentListResult(views.map((view, index) => mcpAgentView(view, found[index]!, toolOf)), set.hidden);
}
