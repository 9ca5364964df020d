/**
 * A host planned from its cached description (core/cached-plan.ts) that refuses the run because
 * its allowlist entry changed since it was cached (`entryChanged`: the agent checked the planned
 * digest before anything of the run, so nothing ran) is planned again, within the same run and
 * under the same request id, once: it is described live (on a connection kept for the run that
 * follows; its cache entry replaced by that answer when the run ends), and its new entry checked as a
 * fresh plan would check it (there: on the allowlist; its blast radius with the run's hosts, a
 * `confirm` entry needing the run to have been confirmed). The re-plan is recorded
 * (`run.replanned`: the digests, the plan's hash with the new entry, what was decided) before the
 * run goes to the host again, now carrying the new digest; a host refused again (its entry changed
 * again in between) ends with that refusal as its result, said to be the second. Nothing is ever run
 * under a stale plan: the agent refuses any digest but its entry's. The run's events, history and
 * outcome records are those of a host described live; the face adds a note naming the hosts.
 */
import type {AuditLog} from '../audit/file-log.js';
import {discoverAgent, type Discovered} from '../dispatch/discover.js';
import {createConnectionHold, type ConnectionHold} from '../dispatch/held-connections.js';
import type {AgentTarget, ClientContext} from '../dispatch/link-exchange.js';
import type {AgentRunOptions, AgentRunRequest} from '../dispatch/run-agent.js';
import {checkBlastRadius, declaredLimits} from '../run/blast-radius.js';
import {forgetDescription, rememberDescriptions, type CacheKey} from '../run/description-cache.js';
import {describedEntryDigest} from '../run/entry-digest.js';
import type {AgentResult} from '../run/events.js';
import {planHash, type RunPlan} from '../run/plan.js';
import type {DescriptionFile} from './description-file.js';

export type RunOnHost = (target: AgentTarget, request: AgentRunRequest, options: AgentRunOptions) => Promise<AgentResult>;

export type RefreshPorts = {
	context: ClientContext;
	revoked: ReadonlySet<string>;
	/** The hosts' registry facts a description is cached under. */
	records: readonly CacheKey[];
	audit: AuditLog;
	descriptions?: DescriptionFile;
	now: () => Date;
	/** Asks one host what it runs, keeping the connection in `hold` (default: a describe exchange, dispatch/discover.ts). */
	describe?: (target: AgentTarget, hold: ConnectionHold) => Promise<Discovered>;
};

/**
 * `run` with the refresh of stale cached entries around it; `refreshed`: the hosts planned again,
 * in the order they were; `remember`: their cache entries replaced by what they answered (or
 * forgotten), in one write once the run is over: a fleet whose entries all changed is not one
 * rewrite of the whole cache, and one fsync, per host.
 */
export function refreshingStalePlans(run: RunOnHost, plan: RunPlan, ports: RefreshPorts): {runOnHost: RunOnHost; refreshed: () => string[]; remember: () => void} {
	const cachedHosts = new Set(plan.cached?.hosts ?? []);
	const records = new Map(ports.records.map(record => [record.name, record]));
	const entries: Record<string, string | null> = {...plan.entries};
	const refreshed: string[] = [];
	const answers: Discovered[] = [];
	const runOnHost: RunOnHost = async (target, request, options) => {
		const first = await run(target, request, options);
		if (!first.entryChanged) {
			return first;
		}

		const {entryChanged: _stale, ...refused} = first;
		if (!cachedHosts.has(target.name) || options.cancel.aborted || request.approval) {
			return refused;
		}

		refreshed.push(target.name);
		const hold = createConnectionHold(1);
		try {
			const found = await describe(target, ports, hold);
			answers.push(found);
			const decided = decide(plan, found, refused);
			entries[target.name] = decided.digest ?? null;
			const recorded = await ports.audit.append({
				event: 'run.replanned',
				requestId: plan.requestId,
				agent: target.name,
				script: plan.script,
				planned: plan.entries?.[target.name] ?? null,
				described: decided.digest ?? null,
				planHash: planHash({...plan, entries: {...entries}}),
				...(decided.result ? {refused: decided.result.reason} : {}),
			}).then(() => undefined, (error: unknown) => (error as Error).message);
			if (recorded !== undefined) {
				// Audit before action: a re-plan that cannot be recorded is not run.
				return {...refused, status: 'error', reason: `its allowlist entry changed since it was cached, and planning it again could not be recorded (${recorded}); nothing ran`};
			}

			if (decided.result) {
				return decided.result;
			}

			// The host was shown connecting already: the second exchange is the same host's run.
			const emit: AgentRunOptions['emit'] = event => event.type !== 'agent-connecting' && options.emit(event);
			const second = await run(target, {...request, plannedEntries: {[target.name]: decided.digest!}}, {...options, emit, hold});
			return second.entryChanged ? againStale(second, target.name) : second;
		} finally {
			hold.close();
		}
	};

	const remember = () => {
		if (refreshed.length === 0 || !ports.descriptions) {
			return;
		}

		const known = answers.filter(answer => records.has(answer.name));
		try {
			ports.descriptions.change(cache => rememberDescriptions(forgetDescription(cache, ...refreshed), known, known.map(answer => records.get(answer.name)!), ports.now().toISOString()));
		} catch {
			// Only a shortcut: the next run plans these hosts from the old entries, is refused again, and asks again.
		}
	};

	return {runOnHost, refreshed: () => [...refreshed], remember};
}

/** The host described live, its connection kept in `hold` for the run that follows. */
async function describe(target: AgentTarget, ports: RefreshPorts, hold: ConnectionHold): Promise<Discovered> {
	return ports.describe ? ports.describe(target, hold) : discoverAgent(target, ports.context, 5000, ports.revoked, hold);
}

/** The new entry's digest when the host may be run with it; otherwise the host's result (nothing ran). */
function decide(plan: RunPlan, found: Discovered, refused: AgentResult): {digest?: string; result?: AgentResult} {
	const notRun = (status: AgentResult['status'], reason: string): {result: AgentResult} => ({result: {...refused, status, exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, reason}});
	if (found.status !== 'reachable') {
		return notRun('unreachable', `its allowlist entry for ${plan.script} changed since it was cached, and it could not be asked again: ${found.reason ?? 'no answer'}; nothing ran`);
	}

	const entry = found.scripts.find(candidate => candidate.name === plan.script);
	if (!entry) {
		return notRun('denied', `script ${plan.script} is not on ${found.name}'s allowlist (it was when its description was cached); nothing ran`);
	}

	const decision = checkBlastRadius({
		script: plan.script,
		targets: plan.targets.length,
		limits: declaredLimits([found], plan.script),
		...(plan.rollout?.batch ? {batch: plan.rollout.batch} : {}),
		parallel: plan.parallel,
		yes: plan.cached?.confirmed ?? false,
		interactive: false,
		dryRun: plan.dryRun,
	});
	if (decision.type !== 'go') {
		const reason = decision.type === 'refuse' ? decision.reason : 'asks for confirmation';
		return notRun('denied', `refused before running anything on ${found.name}: its allowlist entry changed since it was cached, and as it is now ${reason}; nothing ran`);
	}

	return {digest: describedEntryDigest(entry)};
}

/** The host refused the run planned again too (its entry changed between the describe and the run): its result, said so. */
function againStale(result: AgentResult, name: string): AgentResult {
	const {entryChanged: _stale, ...refused} = result;
	return {...refused, reason: `${refused.reason ?? 'refused'} (the second time: ${name} was described and planned again once already; run it again)`};
}
