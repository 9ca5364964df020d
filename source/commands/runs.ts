/** `xi-exec runs [--json]`, `xi-exec runs show ID [--agent NAME] [--json]` and `xi-exec cancel ID`: the run history and cancelling. */
import {XiError} from '../errors.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {cancelRecordedRun, type CancelAnswer} from '../core/cancel-run.js';

import {countStatuses} from '../run/run-state.js';
import {formatSummary} from '../output/run-summary.js';
import {runSummary, storedRunDocument} from '../history/run-record.js';
import {findRun, historyDirectory, listRuns} from '../history/run-store.js';
import {hasRunbookRun, runbookRunsDirectory} from '../runbooks/record-store.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {describeResult} from '../output/plain-run.js';
import {safeJson, visible, visibleLines} from '../output/visible.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';

export function runsListCommand(paths: ControllerPaths, input: {json: boolean}, io: CommandIo): number {
	const runs = listRuns(historyDirectory(paths));
	if (input.json) {
		io.stdout(safeJson({runs: runs.map(run => runSummary(run))}, 2) + '\n');
		return 0;
	}

	if (runs.length === 0) {
		io.stdout('No runs yet.\n');
	}

	for (const run of runs) {
		const summary = formatSummary(countStatuses(run.results));
		io.stdout(`${run.header.startedAt.slice(0, 19).replace('T', ' ')}  ${run.header.requestId}  ${visible(run.header.caller)}  ${run.header.script}${run.header.args.length > 0 ? ' ' + visible(JSON.stringify(run.header.args)) : ''}  --on ${run.header.selector.join(' --on ')}  ${summary}${run.complete ? '' : '  (incomplete)'}${run.header.parent ? `  (step ${run.header.parent.step} of runbook run ${run.header.parent.runbook})` : ''}\n`);
	}

	return 0;
}

export function runsShowCommand(paths: ControllerPaths, input: {id?: string; agent?: string; json: boolean}, io: CommandIo): number {
	if (!input.id) {
		throw new XiError('USAGE', 'usage: xi-exec runs show ID [--agent NAME] [--json]; `xi-exec runs` lists the ids.');
	}

	const run = findRun(historyDirectory(paths), input.id);
	const document = storedRunDocument(run, input.agent);
	if (input.json) {
		io.stdout(safeJson(document) + '\n');
		return 0;
	}

	const results = run.results.filter(result => document.results.some(shown => shown.agent === result.agent));
	io.stdout(`${run.header.script} ${visible(JSON.stringify(run.header.args))} by ${visible(run.header.caller)} at ${run.header.startedAt}, request ${run.header.requestId}${run.complete ? '' : ' (incomplete: the controller stopped during the run)'}\n`);
	if (run.header.parent) {
		io.stdout(`step ${run.header.parent.step} of runbook run ${run.header.parent.runbook} (xi-exec runbooks show ${run.header.parent.runbook})\n`);
	}

	for (const result of results) {
		io.stdout(`\n== ${result.agent}: ${describeResult(result)}\n`);
		for (const line of visibleLines(result.stdout.replace(/\n$/, ''))) {
			io.stdout(`${line}\n`);
		}

		for (const line of result.stderr ? visibleLines(result.stderr.replace(/\n$/, '')) : []) {
			io.stdout(`! ${line}\n`);
		}
	}

	return 0;
}

export async function cancelCommand(paths: ControllerPaths, id: string | undefined, io: CommandIo): Promise<number> {
	if (!id) {
		throw new XiError('USAGE', 'usage: xi-exec cancel ID; `xi-exec runs` lists the ids.');
	}

	if (hasRunbookRun(runbookRunsDirectory(paths), id)) {
		const {runbookCancelCommand} = await import('./runbook.js');
		return runbookCancelCommand(paths, {id, json: false}, io);
	}

	let audit: AuditLog | undefined;
	let answers: CancelAnswer[];
	const context = createClientContext(loadControllerCredentials(paths));
	try {
		({answers} = await cancelRecordedRun({paths, registry: openControllerRegistry(paths), audit: () => (audit ??= openControllerAudit(paths)), context}, {requestId: id, caller: defaultCaller()}));
	} finally {
		await context.close();
		await audit?.close();
	}

	if (answers.length === 0) {
		io.stdout(`Run ${id} has no host still running.\n`);
		return 0;
	}

	for (const answer of answers) {
		io.stdout(`${answer.agent}: ${answer.outcome}${answer.reason ? ` (${visible(answer.reason)})` : ''}\n`);
	}

	return answers.some(answer => answer.outcome === 'unreachable') ? 1 : 0;
}
