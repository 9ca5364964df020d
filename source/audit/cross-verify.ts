/**
 * Checks the controller's log against agents' logs by request id: every controller outcome has
 * exactly one agent execution with the same argument hash and a matching result; every agent
 * execution has a controller request that targeted that agent; every head one side recorded of
 * the other is present in the other's log (so a tail cut off past its last checkpoint, or a
 * rewritten log, shows). A witnessed head {seq: N, hash: H} is present when record N-1 of that
 * log has hash H. Pure.
 */
import type {AuditRecord} from './record.js';

export type CrossProblem = {requestId?: string; agent?: string; problem: string};

export type AgentLogRecords = {agent: string; records: readonly AuditRecord[]};

export function crossVerify(controller: readonly AuditRecord[], agents: readonly AgentLogRecords[]): CrossProblem[] {
	const problems: CrossProblem[] = [];
	const controllerHeads = new Set(controller.map(record => `${record.log}:${record.seq}:${record.hash}`));
	const requests = new Map<string, AuditRecord>();
	for (const record of controller) {
		if (record.event === 'run.request' && typeof record['requestId'] === 'string') {
			requests.set(record['requestId'], record);
		}
	}

	for (const log of agents) {
		const agentHeads = new Set(log.records.map(record => `${record.log}:${record.seq}:${record.hash}`));
		const finishes = new Map<string, AuditRecord[]>();
		for (const record of log.records) {
			if (record.event === 'run.finish' && typeof record['requestId'] === 'string') {
				finishes.set(record['requestId'], [...(finishes.get(record['requestId']) ?? []), record]);
				const request = requests.get(record['requestId']);
				const targets = request?.['targets'];
				if (!request) {
					problems.push({requestId: record['requestId'], agent: log.agent, problem: `${log.agent} ran request ${record['requestId']}, which the controller never requested`});
				} else if (Array.isArray(targets) && !targets.includes(log.agent)) {
					// A request replayed to an agent it was not addressed to.
					problems.push({requestId: record['requestId'], agent: log.agent, problem: `${log.agent} ran request ${record['requestId']}, which the controller did not send to ${log.agent}`});
				}
			}

			const witnessed = record['controllerHead'] as {log: string; seq: number; hash: string} | undefined;
			if (witnessed && !controllerHeads.has(`${witnessed.log}:${witnessed.seq - 1}:${witnessed.hash}`)) {
				problems.push({requestId: record['requestId'] as string | undefined, agent: log.agent, problem: `${log.agent} recorded controller head ${witnessed.seq}/${witnessed.hash.slice(0, 12)}…, which the controller's log does not contain`});
			}
		}

		for (const outcome of controller.filter(record => record.event === 'run.outcome' && record['agent'] === log.agent)) {
			const requestId = outcome['requestId'] as string;
			const executions = finishes.get(requestId) ?? [];
			const status = outcome['status'];
			const ran = status === 'ok' || status === 'failed' || status === 'timeout' || status === 'cancelled';
			if (ran && executions.length !== 1) {
				problems.push({requestId, agent: log.agent, problem: `the controller recorded ${String(status)} on ${log.agent} for request ${requestId}, but ${log.agent}'s log has ${executions.length} executions of it`});
				continue;
			}

			const execution = executions[0];
			if (execution) {
				const request = requests.get(requestId);
				if (request && request['argsHash'] !== execution['argsHash']) {
					problems.push({requestId, agent: log.agent, problem: `request ${requestId}: the argument hash differs between the controller and ${log.agent}`});
				}

				if (execution['status'] !== status) {
					problems.push({requestId, agent: log.agent, problem: `request ${requestId}: the controller recorded ${String(status)}, ${log.agent} recorded ${String(execution['status'])}`});
				}
			}

			const witnessed = outcome['agentHead'] as {log: string; seq: number; hash: string} | undefined;
			if (witnessed && !agentHeads.has(`${witnessed.log}:${witnessed.seq - 1}:${witnessed.hash}`)) {
				problems.push({requestId, agent: log.agent, problem: `the controller witnessed ${log.agent}'s log at ${witnessed.seq}/${witnessed.hash.slice(0, 12)}…, which ${log.agent}'s log does not contain (cut off or rewritten)`});
			}
		}
	}

	return problems;
}
