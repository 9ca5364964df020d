/**
 * The run resource's schemas: the run request (POST /v1/runs and the per-script operations), the
 * documents a run answers (`xi-exec run --json`, `--dry-run --json`), the history's summaries,
 * a cancel's answer, and the events streamed over Server-Sent Events. Pure.
 */
import {runStatuses} from '../protocol/frames.js';
import {agentName, errorSchema, genericArgsSchema, nullable, object, requestId, scriptName, selectorQuerySchema, selectorSchema, text, timestamp, type JsonSchema} from './schema-parts.js';

/** `--batch`/`--max-failures` values: a number of hosts, or a percentage of the targets as a string. */
function amountSchema(minimum: number, description: string): JsonSchema {
	return {oneOf: [{type: 'integer', minimum, maximum: 1_000_000}, {type: 'string', pattern: '^(?:100|[1-9][0-9]?)%$'}], description};
}

/** The run options shared by `POST /v1/runs` and the per-script operations. */
const runOptions: Record<string, JsonSchema> = {
	on: selectorSchema,
	parallel: {type: 'integer', minimum: 1, maximum: 4096, default: 64, description: 'At most this many agents at once.'},
	timeoutSeconds: {type: 'integer', minimum: 1, maximum: 86_400, default: 30, description: 'The script\'s time limit on each agent.'},
	dryRun: {type: 'boolean', default: false, description: 'Ask each agent whether it would run, without running: the answer is then a DryRunDocument, as `xi-exec run --dry-run --json` prints.'},
	wait: {type: 'boolean', default: true, description: 'true: answer with the result document when the run ends; false: answer 202 at once with the request id.'},
	batch: amountSchema(1, 'At most this many hosts running at once (a sliding window), as the CLI\'s --batch: a number of hosts or a percentage of the targets.'),
	maxFailures: amountSchema(0, 'Stop starting new hosts once more than this many have failed (failed, timeout, denied, error; unreachable too unless ignoreUnreachable), as --max-failures. Hosts already running finish, so the count can overshoot.'),
	ignoreUnreachable: {type: 'boolean', default: false, description: 'Do not count unreachable hosts towards maxFailures.'},
	canary: {type: 'integer', minimum: 1, maximum: 4096, description: 'Run this many hosts first; go on only when all are ok and canaryDecision is "continue". The API cannot ask: canaryDecision is required with canary.'},
	canaryDecision: {enum: ['continue', 'stop'], description: 'With canary: "continue" goes on to the other hosts when every canary host is ok (the CLI\'s --yes); "stop" runs the canary hosts only.'},
	shuffle: {type: 'boolean', default: false, description: 'Targets in random order instead of by name.'},
	yes: {type: 'boolean', default: false, description: 'Go ahead with a script whose allowlist entry asks for confirmation (`confirm: true`), as the CLI\'s --yes: the API cannot ask. A run beyond a script\'s maxTargets is refused whatever this says, unless batch keeps it within the limit.'},
	runTimeoutSeconds: {type: 'integer', minimum: 1, maximum: 86_400, description: 'A time limit for the whole run (--run-timeout); hosts still running then end as timeout.'},
	idleTimeoutSeconds: {type: 'integer', minimum: 1, maximum: 86_400, description: 'A host with no output for this long ends as timeout (--idle-timeout).'},
};

export const runBodySchema: JsonSchema = object({script: scriptName, args: {...genericArgsSchema, default: []}, ...runOptions}, ['script', 'on']);

/** The per-script body; `args` is replaced by the script's advertised schema in the OpenAPI document. */
export function scriptRunBodySchema(args: JsonSchema): JsonSchema {
	return object({args: {...args, default: []}, ...runOptions}, ['on']);
}

export const scriptRunBody = scriptRunBodySchema(genericArgsSchema);

export const resultSchema: JsonSchema = object({
	agent: agentName,
	status: {enum: [...runStatuses]},
	exitCode: {type: ['integer', 'null']},
	signal: {type: ['string', 'null']},
	stdout: {type: 'string'},
	stderr: {type: 'string'},
	truncated: {type: 'boolean'},
	durationMs: {type: 'number', minimum: 0},
	reason: {type: ['string', 'null']},
	via: {enum: ['tls', 'relay'], description: 'The link that carried the run: direct TLS or the NATS relay (an agent of transport both may use either).'},
	notes: {type: 'array', maxItems: 21, items: {type: 'string'}, description: 'What happened on the way, for the operator: relay gaps recovered, duplicated replies dropped, a fallback from direct TLS to the relay.'},
	outputOmitted: object({
		stdoutBytes: {type: 'integer', minimum: 0, description: 'The bytes of stdout left out (stdout is then "").'},
		stderrBytes: {type: 'integer', minimum: 0, description: 'The bytes of stderr left out (stderr is then "").'},
		reason: text(200),
		result: text(300, {description: 'Where this host\'s full result is: GET /v1/runs/{id}?agent=NAME.'}),
	}, undefined, {description: 'In the answer of POST /v1/runs with wait: true, to a client that read it more slowly than the run went (more than 4 MiB unread); and in an agent-finished event of GET /v1/runs/{id}/events, live or replayed from the history, when more than 4 MiB of output would be held at once for results (its output went out in its agent-output events), or when a live follower that missed some of the host\'s agent-output events would pass that with the result\'s own output: this host\'s output was left out, not of the history.'}),
}, ['agent', 'status', 'exitCode', 'signal', 'stdout', 'stderr', 'truncated', 'durationMs', 'reason'], {description: 'One agent\'s outcome, as in `xi-exec run --json`.'});
/** A runbook step's run: its runbook run and step (absent for other runs). */
const runParentSchema: JsonSchema = object({
	runbook: {...requestId, description: 'The runbook run\'s id (GET /v1/runbook-runs/{id}).'},
	step: text(64, {pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'The step\'s name in its runbook.'}),
}, undefined, {description: 'The runbook run and step this run is part of; absent for a run that is not a runbook\'s step.'});
/** The document `xi-exec run --json` prints. */
export const runDocumentSchema: JsonSchema = object({
	requestId,
	script: scriptName,
	args: {type: 'array', items: {type: 'string'}},
	parent: runParentSchema,
	startedAt: {...timestamp, description: 'When the run\'s request went out.'},
	results: {type: 'array', items: resultSchema},
	endedAt: {...nullable(timestamp), description: 'When the last host ended; null while the run has not ended.'},
	durationMs: {type: ['number', 'null'], minimum: 0, description: 'The whole run\'s time, endedAt minus startedAt; each result has its host\'s own.'},
}, ['requestId', 'script', 'args', 'startedAt', 'results', 'endedAt', 'durationMs'], {description: 'The same document as `xi-exec run --json`.'});

/** The document `xi-exec run --dry-run --json` prints: whether each agent would run, and why. */
export const dryRunDocumentSchema: JsonSchema = object({
	requestId,
	script: scriptName,
	args: {type: 'array', items: {type: 'string'}},
	dryRun: {const: true},
	targets: {type: 'array', items: object({
		agent: agentName,
		wouldRun: {type: 'boolean'},
		status: {enum: [...runStatuses]},
		reason: {type: 'string', description: 'The policy\'s reason it would run, or why not.'},
	})},
}, undefined, {description: 'The same document as `xi-exec run --dry-run --json`: nothing ran.'});

/** What a run answers once it ends: the run's document, or with `dryRun: true` the dry run's. */
export const runAnswerSchema: JsonSchema = {oneOf: [runDocumentSchema, dryRunDocumentSchema]};

export const acceptedSchema: JsonSchema = object({
	requestId,
	events: text(200, {description: 'Where the run\'s events stream (Server-Sent Events).'}),
	run: text(200, {description: 'Where the finished run is kept.'}),
});

/** What an approval request needs: the approvals rules the plan matched, as GET /v1/approvals/{id} shows them. */
export const approvalNeedsSchema: JsonSchema = {type: 'array', items: object({name: text(100), approvers: {type: 'array', items: {type: 'string'}}, quorum: {type: 'integer', minimum: 1}})};

/** The `approval` of a 409 APPROVAL_PENDING: the request POST /v1/runs opened instead of running. */
export const pendingApprovalSchema: JsonSchema = object({
	id: text(64, {description: 'The approval request\'s id.'}),
	needs: {...approvalNeedsSchema, description: 'The rules still to be met, each with its approvers and quorum (the request is new: no one has approved yet).'},
	expiresAt: timestamp,
	follow: text(100, {description: 'Where the request is followed: GET /v1/approvals/{id}.'}),
	run: text(100, {description: 'Where the requester runs the plan once approved: POST /v1/approvals/{id}/run, with the same token.'}),
}, undefined, {description: 'The approval request a run waits for; nothing has run.'});

const errorBody = (errorSchema['properties'] as {error: JsonSchema}).error;
/** A 409 from POST /v1/runs: the error shape, with `approval` when the code is APPROVAL_PENDING. */
export const approvalPendingErrorSchema: JsonSchema = {
	...errorSchema,
	properties: {error: {...errorBody, properties: {...(errorBody['properties'] as Record<string, JsonSchema>), approval: pendingApprovalSchema}}},
	description: 'An error; with the code APPROVAL_PENDING, `approval` names the request the run waits for.',
};

const historyFields: Record<string, JsonSchema> = {
	caller: text(1024),
	selector: {type: 'array', items: {type: 'string'}},
	targets: {type: 'array', items: agentName},
	startedAt: timestamp,
	endedAt: nullable(timestamp),
	complete: {type: 'boolean', description: 'false when the controller stopped before the run ended.'},
};

export const runQuerySchema: JsonSchema = object({
	agent: {...agentName, description: 'Only this host\'s result, as `runs show ID --agent NAME`.'},
}, []);

export const cancelAnswerSchema: JsonSchema = object({
	requestId,
	agents: {
		type: 'array',
		items: object({
			agent: agentName,
			outcome: {enum: ['cancelled', 'not running', 'unreachable'], description: 'cancelled: it was running and is being killed (it ends as cancelled); not running: it had finished or will not be started (skipped); unreachable: the cancel could not be delivered.'},
			reason: {type: ['string', 'null']},
		}),
		description: 'Each host that had not answered when the cancel came; empty when none was left.',
	},
}, undefined, {description: 'What a cancel reached. The run\'s own result shows each host\'s final status.'});

export const runSummarySchema: JsonSchema = object({
	requestId,
	script: scriptName,
	args: {type: 'array', items: {type: 'string'}},
	...historyFields,
	parent: runParentSchema,
	counts: {type: 'object', additionalProperties: {type: 'integer', minimum: 0}, propertyNames: {enum: [...runStatuses]}},
}, ['requestId', 'script', 'args', ...Object.keys(historyFields), 'counts']);

export const runListSchema: JsonSchema = object({runs: {type: 'array', items: runSummarySchema}});

const eventResultSchema: JsonSchema = {
	...resultSchema,
	required: ['agent', 'status', 'exitCode', 'signal', 'stdout', 'stderr', 'truncated', 'durationMs'],
	properties: {
		...(resultSchema['properties'] as Record<string, JsonSchema>),
		reason: {type: 'string'},
		agentHead: object({log: text(100), seq: {type: 'integer', minimum: 0}, hash: text(128), signature: text(1024), keyId: text(128)}, undefined, {description: 'The agent audit log\'s signed head as of this result (the controller\'s witness of that log).'}),
	},
};

/** One Server-Sent Event's `data`: the run events the CLI and the console consume. */
export const runEventSchema: JsonSchema = {
	oneOf: [
		object({type: {const: 'run-started'}, requestId, script: scriptName, args: {type: 'array', items: {type: 'string'}}, targets: {type: 'array', items: agentName}, startedAt: timestamp}, ['type', 'requestId', 'script', 'args', 'targets']),
		object({type: {const: 'agent-connecting'}, agent: agentName}),
		object({type: {const: 'agent-started'}, agent: agentName}),
		object({type: {const: 'agent-output'}, agent: agentName, stream: {enum: ['stdout', 'stderr']}, data: {type: 'string'}}),
		object({type: {const: 'agent-finished'}, result: eventResultSchema}),
		object({type: {const: 'run-finished'}, requestId, endedAt: timestamp, durationMs: {type: 'number', minimum: 0}}, ['type', 'requestId']),
	],
	description: 'The `data` of one Server-Sent Event; its `event` field repeats `type`.',
};

export const runsQuerySchema: JsonSchema = object({
	on: {...selectorQuerySchema, description: `Only runs whose every target is among these agents. ${String(selectorQuerySchema['description'])} Default: all.`},
	limit: {type: 'integer', minimum: 1, maximum: 1000, default: 50},
}, []);

export const eventStreamHeadersSchema: JsonSchema = {
	type: 'object',
	properties: {
		'last-event-id': text(20, {pattern: '^[0-9]{1,9}(?:\\.[0-9]{1,9})?$', description: 'Resume after this event (the `id` of the last event received): N for an event the history keeps, N.K for one it does not.'}),
	},
};

export const runParamsSchema: JsonSchema = object({id: requestId});
export const scriptParamsSchema: JsonSchema = object({script: scriptName});
