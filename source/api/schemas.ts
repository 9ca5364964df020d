/**
 * The JSON Schemas (2020-12) of every body, query, path parameter and response of the REST API.
 * Fastify validates requests and responses with these objects, and the OpenAPI document publishes
 * the very same objects: one source of truth. Pure.
 */
import {errorCodes} from '../errors.js';
import {limits, requestIdPattern, runStatuses} from '../protocol/frames.js';
import {agentNamePattern, scriptNamePattern} from '../protocol/text-checks.js';
import {selectorLimits} from '../policy/selector.js';

export type JsonSchema = Record<string, unknown>;

const text = (maxLength: number, extra: JsonSchema = {}): JsonSchema => ({type: 'string', maxLength, ...extra});
const nullable = (schema: JsonSchema): JsonSchema => ({...schema, type: [schema['type'], 'null']});
const object = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties), extra: JsonSchema = {}): JsonSchema => ({
	type: 'object',
	additionalProperties: false,
	required,
	properties,
	...extra,
});

export const scriptName = text(64, {pattern: scriptNamePattern.source, description: 'A script name: [a-z0-9][a-z0-9._-]*.'});
export const agentName = text(63, {pattern: agentNamePattern.source});
export const requestId = text(64, {pattern: requestIdPattern.source, description: 'The run\'s request id (a UUID for runs this controller starts).'});
const timestamp = text(40, {format: 'date-time'});

export const tagsSchema: JsonSchema = {type: 'object', maxProperties: 64, additionalProperties: text(128), description: 'Tags, key=value, as the controller\'s registry holds them.'};

/**
 * A selector, in the grammar of the CLI's --on (README, "Targeting"): a list of clauses, or one
 * string of clauses separated by white space. Handlers read it through `selectorValues`.
 */
export const selectorSchema: JsonSchema = {
	type: ['array', 'string'],
	minItems: 1,
	maxItems: selectorLimits.values,
	items: text(selectorLimits.valueChars, {minLength: 1}),
	minLength: 1,
	maxLength: selectorLimits.values * 64,
	description: `Target selection, the CLI's --on: a list of clauses, or one string of clauses separated by white space (\`web[01-40] !web07\`). Each clause is \`all\`, agent names and ranges (\`web[01-40,45],db1\`, \`*\` globs), or tag terms that must all hold (\`env=prod*,role=web\`); several clauses are OR, and a clause starting with \`!\` removes what it matches. At most ${selectorLimits.values} clauses of ${selectorLimits.valueChars} characters, naming at most ${selectorLimits.names} agents.`,
};

/** Arguments when no argument schema is advertised: the wire protocol's own limits. */
export const genericArgsSchema: JsonSchema = {
	type: 'array',
	maxItems: limits.argCount,
	items: text(limits.argBytes),
	description: 'The script\'s arguments, passed as argv (never through a shell).',
};

export const errorSchema: JsonSchema = object({
	error: object({
		code: {enum: Object.keys(errorCodes), description: 'A code from the error registry (README, "Errors").'},
		message: text(8192),
	}),
}, ['error'], {description: 'Every error has this shape.'});

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
}, ['agent', 'status', 'exitCode', 'signal', 'stdout', 'stderr', 'truncated', 'durationMs', 'reason'], {description: 'One agent\'s outcome, as in `xi-exec run --json`.'});

/** The document `xi-exec run --json` prints. */
/** A runbook step's run: its runbook run and step (absent for other runs). */
const runParentSchema: JsonSchema = object({
	runbook: {...requestId, description: 'The runbook run\'s id (GET /v1/runbook-runs/{id}).'},
	step: text(64, {pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'The step\'s name in its runbook.'}),
}, undefined, {description: 'The runbook run and step this run is part of; absent for a run that is not a runbook\'s step.'});

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

export const scriptViewSchema: JsonSchema = object({
	name: scriptName,
	description: text(4096),
	timeoutSeconds: {type: 'integer'},
	args: {description: 'The argument schema the agent advertises (JSON Schema 2020-12), or null.'},
	schemaProblem: {type: ['string', 'null'], description: 'Why the controller refuses the advertised schema (too large, a remote $ref, an unsafe pattern); the script is then left out of /openapi.json.'},
	maxTargets: {type: ['integer', 'null']},
	confirm: {type: 'boolean'},
});

export const agentViewSchema: JsonSchema = object({
	name: agentName,
	address: text(300),
	tags: tagsSchema,
	reportedTags: {...tagsSchema, type: ['object', 'null'], description: 'The tags the agent reports about itself; the registry\'s are authoritative.'},
	drifted: {type: 'boolean', description: 'true when the agent\'s own tags differ from the registry\'s.'},
	status: {enum: ['reachable', 'unreachable']},
	reason: {type: ['string', 'null']},
	transport: {type: 'string', enum: ['tls', 'nats', 'both'], description: 'How the controller reaches the agent: direct mutual TLS, the NATS relay, or TLS with the relay as fallback.'},
	lastSeen: nullable(timestamp),
	lastSeenVia: {type: ['string', 'null'], enum: ['tls', 'relay', null], description: 'The link the agent last answered over (null when never seen or not known).'},
	relayPresence: {
		...object({
			state: {enum: ['seen', 'not-seen', 'unwatched'], description: 'seen: a valid signed heartbeat within 60 s (two heartbeats); not-seen: none, while xi-exec serve watches its broker; unwatched: nobody watches its broker.'},
			lastHeartbeat: nullable(timestamp),
			broker: {type: ['string', 'null']},
		}),
		type: ['object', 'null'],
		description: 'A relay agent\'s (transport nats or both) last valid signed presence heartbeat, as xi-exec serve counted it; null on direct TLS.',
	},
	certificateExpires: timestamp,
	scripts: {type: 'array', items: scriptViewSchema},
});

export const agentListSchema: JsonSchema = object({agents: {type: 'array', items: agentViewSchema}});

/** In a query string, each `on` parameter is one clause (repeat it): `?on=web[1-4]&on=!web2`. */
const selectorQuerySchema: JsonSchema = {type: 'array', minItems: 1, maxItems: selectorLimits.values, items: text(selectorLimits.valueChars, {minLength: 1}), description: `${String(selectorSchema['description'])} In a query, each on parameter is one clause: repeat it.`};

export const agentsQuerySchema: JsonSchema = object({
	on: {...selectorQuerySchema, description: `${String(selectorSchema['description'])} Default: all.`},
	timeoutSeconds: {type: 'integer', minimum: 1, maximum: 60, default: 3, description: 'How long to wait for each agent.'},
}, []);

export const openapiQuerySchema: JsonSchema = object({
	on: {...selectorQuerySchema, description: `Build the document from these agents only. ${String(selectorQuerySchema['description'])} Default: all.`},
}, []);

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

export const auditQuerySchema: JsonSchema = object({
	request: requestId,
	agent: agentName,
	since: text(20, {pattern: '^\\d+[smhd]$', description: 'Only records newer than this: 30m, 1h, 7d.'}),
	limit: {type: 'integer', minimum: 1, maximum: 10_000, default: 1000, description: 'At most this many records, the newest.'},
}, []);

export const auditListSchema: JsonSchema = object({
	records: {
		type: 'array',
		items: {type: 'object', required: ['event', 'seq', 'ts', 'side'], properties: {event: {type: 'string'}, seq: {type: 'integer'}, ts: timestamp, side: {enum: ['controller', 'agent']}}},
	},
});

export const tokenName = text(63, {pattern: '^[a-z0-9][a-z0-9._-]{0,62}$'});

export const tokenViewSchema: JsonSchema = object({
	id: text(32),
	name: tokenName,
	scripts: {type: 'array', items: text(64)},
	on: {type: 'array', items: {type: 'string'}},
	createdAt: timestamp,
	expiresAt: nullable(timestamp),
	revokedAt: nullable(timestamp),
	state: {enum: ['active', 'revoked', 'expired']},
	operator: {type: 'boolean', description: 'An operator\'s own token, which approval rules can name as an approver.'},
});

export const tokenListSchema: JsonSchema = object({tokens: {type: 'array', items: tokenViewSchema}});

export const tokenCreateBodySchema: JsonSchema = object({
	name: tokenName,
	scripts: {type: 'array', minItems: 1, maxItems: 256, items: text(64, {pattern: `^(?:\\*|${scriptNamePattern.source.slice(1, -1)})$`}), description: 'Script names, or ["*"] for every script.'},
	on: selectorSchema,
	expires: text(12, {pattern: '^\\d+[mhd]$', description: 'A lifetime such as 90m, 12h or 30d; none means no expiry.'}),
	operator: {type: 'boolean', description: 'An operator\'s own token, which approval rules can name as an approver.'},
}, ['name', 'scripts', 'on']);

export const tokenCreatedSchema: JsonSchema = object({
	token: text(100, {description: 'The token itself: shown this once, stored only as a hash.'}),
	id: text(32),
	name: tokenName,
	scripts: {type: 'array', items: {type: 'string'}},
	on: {type: 'array', items: {type: 'string'}},
	expiresAt: nullable(timestamp),
	operator: {type: 'boolean'},
});

export const tokenParamsSchema: JsonSchema = object({name: tokenName});
export const tokenRevokedSchema: JsonSchema = object({name: tokenName, revoked: {const: true}});

/** What the agent's reference hook sends: the hook context (issue 4). Extra fields are ignored. */
export const policyContextSchema: JsonSchema = {
	type: 'object',
	required: ['requestId', 'agent', 'script', 'args', 'caller', 'token', 'source', 'timestamp', 'dryRun'],
	properties: {
		requestId,
		agent: {type: 'object', required: ['name', 'tags'], properties: {name: agentName, tags: tagsSchema}},
		script: scriptName,
		args: genericArgsSchema,
		caller: text(1024),
		token: {
			type: ['object', 'null'],
			required: ['id'],
			properties: {id: text(32), name: text(63)},
			description: 'The caller\'s token id and scope (never the token), or null for a run without a token.',
		},
		source: text(128, {description: 'The source address the agent saw.'}),
		timestamp: {type: ['string', 'number']},
		dryRun: {type: 'boolean'},
		approval: {
			type: ['object', 'null'],
			required: ['id', 'approvers', 'at', 'planHash'],
			properties: {
				id: text(64),
				approvers: {type: 'array', maxItems: 10, items: text(63)},
				at: text(40),
				planHash: text(64, {pattern: '^[0-9a-f]{64}$'}),
				entryDigest: text(64, {pattern: '^[0-9a-f]{64}$', description: 'The digest the approved plan holds of this agent\'s allowlist entry for the script (the agent has checked it against its entry).'}),
			},
			description: 'The two-person approval the run executes, as the controller sent it to the agent; null or absent without one.',
		},
	},
	description: 'The hook context an agent\'s reference hook sends before a run.',
};

export const policyAnswerSchema: JsonSchema = object({allow: {type: 'boolean'}, reason: text(4096)});

export const healthSchema: JsonSchema = object({status: {const: 'ok'}});

/** Names under which shared schemas appear in the document's components. */
export const namedSchemas: Record<string, JsonSchema> = {
	Error: errorSchema,
	Selector: selectorSchema,
	Tags: tagsSchema,
	Arguments: genericArgsSchema,
	RunRequest: runBodySchema,
	ScriptRunRequest: scriptRunBody,
	RunDocument: runDocumentSchema,
	DryRunDocument: dryRunDocumentSchema,
	AgentResult: resultSchema,
	RunAccepted: acceptedSchema,
	CancelAnswer: cancelAnswerSchema,
	RunSummary: runSummarySchema,
	RunEvent: runEventSchema,
	Agent: agentViewSchema,
	Script: scriptViewSchema,
	Token: tokenViewSchema,
	TokenCreated: tokenCreatedSchema,
	PolicyContext: policyContextSchema,
	PolicyAnswer: policyAnswerSchema,
};
