/**
 * What an approval is bound to, as a table: a request is opened for a plan (run/plan.ts's hash,
 * the one run.request records), the world changes, and an operator approves. Each change that
 * makes another plan — a host joining or leaving or moving, a host's allowlist entry changing or
 * disappearing, the stored plan's arguments edited on disk, the runbook file edited or removed —
 * is refused with APPROVAL_PLAN_CHANGED naming what changed, and leaves approval.invalidated
 * then approval.refused; the same world (also with --shuffle, whose order is drawn from the
 * request id) approves. The controller's registry, token store, approvals and audit files are
 * real; the hosts' answers come from a describe port, so each case says exactly what a host said.
 */
import {rmSync, writeFileSync, mkdirSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {join} from 'node:path';
import test from 'ava';
import {approveRequest, type ApprovalPorts} from '../../source/approvals/approvals.js';
import {resolveGated} from '../../source/approvals/gated-run.js';
import {storedPlanProblem} from '../../source/approvals/plan-binding.js';
import {resolvePlanHashWith} from '../../source/approvals/resolve-again.js';
import {openApprovalStore} from '../../source/approvals/store.js';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import {createToken} from '../../source/core/tokens.js';
import type {PlanPorts, RunRequest} from '../../source/core/run-plan.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import {XiError} from '../../source/errors.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../../source/home.js';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import {addAgent, removeAgent, type AgentRecord} from '../../source/registry/model.js';
import type {RunPlan} from '../../source/run/plan.js';
import {createController} from '../helpers/fleet.js';

const entry: ScriptDescription = {name: 'restart-db', description: 'restarts the database', timeoutSeconds: 30, digest: 'a'.repeat(64)};
const runbookText = 'name: deploy\nsteps: []\n';

function record(name: string, port: number): AgentRecord {
	return {name, address: `127.0.0.1:${port}`, tags: {env: 'production'}, serial: `0${port}`, fingerprint: 'f'.repeat(64), certificateIssued: '2026-12-01T00:00:00.000Z', certificateExpires: '2027-12-01T00:00:00.000Z', pairedAt: '2026-12-01T00:00:00.000Z'};
}

type World = {
	paths: ControllerPaths;
	/** What each host says of its allowlist when asked (absent: it does not answer). */
	answers: Map<string, ScriptDescription[]>;
	ports: PlanPorts;
	approvalPorts: () => ApprovalPorts;
	aliceToken: string;
	close: () => Promise<void>;
};

async function world(): Promise<World> {
	const home = await createController();
	const paths = controllerPaths(home);
	writeFileSync(join(home, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'production', scripts: ['restart-db'], on: ['env=production'], approvers: ['token:lead-*']}]}}));
	await openControllerRegistry(paths).update(registry => [record('db1', 7001), record('db2', 7002)].reduce((next, agent) => addAgent(next, agent), registry));
	mkdirSync(join(home, 'runbooks'));
	writeFileSync(join(home, 'runbooks', 'deploy.yaml'), runbookText);
	const now = new Date();
	const alice = await createToken({paths, now}, {name: 'alice', scripts: [], on: [], operator: true}, {caller: 'test'});
	const answers = new Map<string, ScriptDescription[]>([['db1', [entry]], ['db2', [entry]]]);
	const audit = openControllerAudit(paths);
	const describe = async (targets: ReadonlyArray<{name: string; address: string}>): Promise<Discovered[]> => targets.map(target => {
		const scripts = answers.get(target.name);
		return scripts ? {name: target.name, address: target.address, status: 'reachable', scripts} : {name: target.name, address: target.address, status: 'unreachable', reason: 'no answer', scripts: []};
	});
	const ports: PlanPorts = {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(loadControllerCredentials(paths)), describe};
	return {
		paths,
		answers,
		ports,
		approvalPorts: () => ({store: openApprovalStore(home), audit, now: () => new Date()}),
		aliceToken: alice.token,
		close: async () => audit.close(),
	};
}

function request(w: World, extra: Partial<RunRequest> = {}): RunRequest {
	return {script: 'restart-db', args: ['--now'], on: ['env=production'], parallel: 8, timeoutSeconds: 30, dryRun: false, caller: 'alice@ops', token: w.aliceToken, ...extra};
}

function runbookStep(): Partial<RunRequest> {
	const sha256 = createHash('sha256').update(runbookText).digest('hex');
	return {parent: {runbook: 'rb-1', step: 'restart'}, runbookFile: {file: 'runbooks/deploy.yaml', sha256}, pinned: {agents: ['db1', 'db2'], since: 'when runbook run rb-1 was checked', remedy: 'resume it'}};
}

const bob = {id: 'bob-1', name: 'lead-bob', operator: true};

type Case = {
	title: string;
	/** The request opened (defaults to `run restart-db --on env=production -- --now`). */
	asked?: (w: World) => Partial<RunRequest>;
	/** What changes between the request and its approval. */
	change: (w: World, id: string) => Promise<void> | void;
	/** The reason the refusal gives (undefined: the approval goes through). */
	reason?: RegExp;
};

const cases: Case[] = [
	{title: 'nothing changed', change() {}},
	{title: 'nothing changed, with --shuffle and batches', asked: () => ({rollout: {shuffle: true, batch: {value: 1, percent: false}}}), change() {}},
	{title: 'a host answered the second time that did not the first', change() {}, asked(w) {
		w.answers.delete('db2');
		return {};
	}, reason: /the allowlist entry for restart-db changed on db2/},
	{title: 'a host joined', async change(w) {
		await w.ports.registry.update(registry => addAgent(registry, record('db3', 7003)));
		w.answers.set('db3', [entry]);
	}, reason: /: db3 joined$/},
	{title: 'a host left', async change(w) {
		await w.ports.registry.update(registry => removeAgent(registry, 'db2'));
	}, reason: /: db2 left$/},
	{title: 'a host moved', async change(w) {
		await w.ports.registry.update(registry => addAgent(registry, record('db2', 7102), {replace: true}));
	}, reason: /: db2 moved to another address$/},
	{title: 'a host\'s allowlist entry changed (its path, users or file: the agent\'s digest)', change(w) {
		w.answers.set('db1', [{...entry, digest: 'b'.repeat(64)}]);
	}, reason: /: the allowlist entry for restart-db changed on db1$/},
	{title: 'a host\'s argument schema changed', change(w) {
		w.answers.set('db2', [{...entry, args: {type: 'array', maxItems: 1}}]);
	}, reason: /: the allowlist entry for restart-db changed on db2$/},
	{title: 'a host no longer allows the script', change(w) {
		w.answers.set('db2', []);
	}, reason: /: the allowlist entry for restart-db changed on db2$/},
	{title: 'the stored plan\'s arguments were edited on disk (by someone holding approvals.key, so the file\'s own check passes)', async change(w, id) {
		await openApprovalStore(w.paths.home).update(state => ({...state, requests: state.requests.map(each => (each.id === id ? {...each, plan: {...(each.plan as RunPlan), args: ['--now', '--drop-all']}} : each))}));
	}, reason: /^the stored plan hashes to [\da-f]{12}, not to the approved [\da-f]{12} \(changed on disk/},
	{title: 'a runbook step, nothing changed', asked: runbookStep, change() {}},
	{title: 'a runbook step, a host joined (its hosts were fixed when the runbook was checked)', asked: runbookStep, async change(w) {
		await w.ports.registry.update(registry => addAgent(registry, record('db3', 7003)));
	}},
	{title: 'a runbook step, its runbook file changed', asked: runbookStep, change(w) {
		writeFileSync(join(w.paths.home, 'runbooks', 'deploy.yaml'), `${runbookText}# edited\n`);
	}, reason: /: runbooks\/deploy\.yaml changed \(SHA-256 [\da-f]{12}… then, [\da-f]{12}… now\)$/},
	{title: 'a runbook step, its runbook file removed', asked: runbookStep, change(w) {
		rmSync(join(w.paths.home, 'runbooks', 'deploy.yaml'));
	}, reason: /^the plan no longer resolves \(RUNBOOK_UNKNOWN: runbooks\/deploy\.yaml cannot be read now \(ENOENT\)\)$/},
	{title: 'a runbook step, one of its hosts unpaired', asked: runbookStep, async change(w) {
		await w.ports.registry.update(registry => removeAgent(registry, 'db2'));
	}, reason: /^the plan no longer resolves \(AGENT_UNKNOWN: db2 was chosen when runbook run rb-1 was checked/},
];

for (const each of cases) {
	test(`${each.reason ? 'refused' : 'approved'}: ${each.title}`, async t => {
		const w = await world();
		t.teardown(w.close);
		const gated = await resolveGated(w.ports, request(w, each.asked?.(w)));
		if (gated.type !== 'wait') {
			t.fail('the request should wait for approval');
			return;
		}

		// The approval is bound to the plan's own hash: the one run.request records.
		t.is(gated.request.planHash, gated.plan.hash);
		w.answers.set('db2', w.answers.get('db2') ?? [entry]);
		await each.change(w, gated.request.id);
		const approving = approveRequest(w.approvalPorts(), gated.request.id, bob, resolvePlanHashWith(w.ports));
		await w.close();
		const records = () => readAuditRecords(w.paths.auditLog).filter(line => line['approvalId'] === gated.request.id);
		if (!each.reason) {
			t.like(await approving, {state: 'approved'});
			t.deepEqual(records().map(line => line.event), ['approval.requested', 'approval.approved']);
			return;
		}

		const error = await t.throwsAsync(approving, {instanceOf: XiError});
		t.is(error?.code, 'APPROVAL_PLAN_CHANGED');
		const [, invalidated, refused] = records();
		t.like(invalidated, {event: 'approval.invalidated', planHash: gated.plan.hash, by: {name: 'lead-bob'}});
		t.regex(String(invalidated?.['reason']), each.reason);
		t.like(refused, {event: 'approval.refused', action: 'approve', code: 'APPROVAL_PLAN_CHANGED', by: {name: 'lead-bob'}});
		t.true(error?.message.includes(String(invalidated?.['reason'])), error?.message);
		t.is((await openApprovalStore(w.paths.home).read()).requests.find(stored => stored.id === gated.request.id)?.state, 'invalidated');
	});
}

test('a stored plan is checked against the hash it was approved under', t => {
	t.regex(storedPlanProblem({version: 2, hash: 'x'} as unknown as RunPlan, 'y'.repeat(64)) ?? '', /^the stored plan is malformed/);
	const plan = {version: 2, hash: 'y'.repeat(64), script: 's', args: [], targets: [], parallel: 1, timeoutSeconds: 1, dryRun: false, caller: 'c'} as unknown as RunPlan;
	t.regex(storedPlanProblem(plan, 'y'.repeat(64)) ?? '', /^the stored plan hashes to [\da-f]{12}, not to the approved yyyyyyyyyyyy/);
	t.is(storedPlanProblem(undefined, 'y'.repeat(64)), 'no stored plan');
});
