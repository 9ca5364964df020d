/**
 * The REST API's runbook routes (their own table, registered beside routes.ts): list the
 * runbooks, run one (or dry-run it: each host's policy answer per step), the history of runbook
 * runs, one run's record (the document `runbooks show ID --json` prints), its events as
 * Server-Sent Events per step, cancel and resume. /openapi.json gets one operation per runbook,
 * `POST /v1/runbooks/{name}/runs`, whose `params` is that runbook's parameters' JSON Schemas.
 * Every step is a normal run under the caller's token (scope, policy, blast radius per step).
 */
import type {RouteSpec} from './route-spec.js';
import {accepted, anyObject, errors, genericParams, id, name, runBody, runbookEventSchema} from './runbook-schemas.js';

export {createRunbookHandlers} from './runbook-handlers.js';
export {runbookOperations} from './runbook-operations.js';

export const runbookRunsUrl = '/v1/runbooks/:name/runs';

export const runbookRoutes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/runbooks', access: 'admin', operationId: 'listRunbooks', tag: 'runbooks',
		summary: 'The runbooks in the controller\'s home (runbooks/NAME.yaml), with their parameters',
		description: 'As `xi-exec runbook list --json`: each runbook\'s name, file, steps and parameters, or the problems of a file that is not valid.',
		schema: {response: {200: {type: 'object', required: ['runbooks'], properties: {runbooks: {type: 'array', items: anyObject}}}, ...errors}},
	},
	{
		method: 'POST', url: runbookRunsUrl, access: 'token', operationId: 'runRunbook', tag: 'runbooks',
		summary: 'Run a runbook (or dry-run it)',
		description: 'The runbook is checked whole against the fleet first: one RUNBOOK_INVALID error lists every problem, and nothing is dialled. Each step is then a normal run under the caller\'s token. Answers the run\'s record when it ends (the document of GET /v1/runbook-runs/{id}), 202 at once with `"wait": false`, or the plan with each host\'s policy answer with `"dryRun": true`.',
		schema: {params: {type: 'object', required: ['name'], properties: {name}}, body: runBody(genericParams), response: {200: anyObject, 202: accepted, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs', access: 'admin', operationId: 'listRunbookRuns', tag: 'runbooks',
		summary: 'Recent runbook runs, newest first',
		description: 'As `xi-exec runbooks --json`.',
		schema: {response: {200: {type: 'object', required: ['runs'], properties: {runs: {type: 'array', items: anyObject}}}, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs/:id', access: 'token', operationId: 'getRunbookRun', tag: 'runbooks',
		summary: 'One runbook run\'s record',
		description: 'The same document as `xi-exec runbooks show ID --json` and `xi-exec runbook run --json`: each step\'s status, counts, hosts and request id (GET /v1/runs/{id} has a step\'s output).',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: anyObject, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs/:id/events', access: 'token', operationId: 'runbookRunEvents', tag: 'runbooks', produces: 'text/event-stream',
		summary: 'A runbook run\'s step events as Server-Sent Events',
		description: '`step-started` (with the step\'s request id: GET /v1/runs/{id}/events streams its hosts), `step-waiting` (the step needs two-person approval: the approval request\'s id, who must approve and until when; sent before it waits, and for a step that ends `waiting` with `noWait`), `step-finished` (its outcome) and `runbook-finished`. A run going on in this server streams live; any other is replayed from its record.',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: runbookEventSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runbook-runs/:id/cancel', access: 'token', operationId: 'cancelRunbookRun', tag: 'runbooks',
		summary: 'Cancel a runbook run: the step running is cancelled on every host, nothing runs after it',
		description: 'As `xi-exec runbook cancel ID`, for a run in this server or in any other process: `status` is `cancelling` (the process running it stops at the request), `cancelled` (no process ran it any more: its record now ends cancelled) or `{"ended": STATUS}` (it had ended: nothing done); `steps` names each step in flight and what its hosts answered. `resume` continues it from its first step not finished ok.',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: anyObject, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runbook-runs/:id/resume', access: 'token', operationId: 'resumeRunbookRun', tag: 'runbooks',
		summary: 'Resume a runbook run from its first step not finished ok (or `from`)',
		description: 'As `xi-exec runbook run --resume ID`: a new run carrying over the outcomes before the resume point. Refused when the file changed since (RUNBOOK_CHANGED) unless `changedFile`, and while the run is still running (RUNBOOK_RUNNING). Secret parameters are given again in `params`.',
		schema: {
			params: {type: 'object', required: ['id'], properties: {id}},
			body: {type: 'object', additionalProperties: false, properties: {from: name, changedFile: {type: 'boolean', default: false}, params: genericParams, wait: {type: 'boolean', default: true}, yes: {type: 'boolean', default: false}}},
			response: {200: anyObject, 202: accepted, ...errors},
		},
	},
];
