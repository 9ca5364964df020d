/** `xi-exec agents [--on SELECTOR] [--json]`: the registry, with each agent asked what it runs now. */
import {readFileSync, writeFileSync} from 'node:fs';
import {openControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {certificateNotes, maintainAfterContact} from '../certificates/after-contact.js';
import {createClientContext, type ClientContext} from '../dispatch/agent-connection.js';
import {discoverAgents} from '../dispatch/discover.js';
import {seenText, viewAgents, type AgentView} from '../core/agents-view.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {safeJson, visible} from '../output/visible.js';
import {describeDrift, formatTags} from '../policy/tags.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import {gatherHealth} from './doctor.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import {isScriptName} from '../protocol/text-checks.js';
import {foldNames} from '../run/group-output.js';
import {scriptCachePath} from './completion.js';

export async function agentsCommand(paths: ControllerPaths, input: {on: string[]; json: boolean; timeoutSeconds: number}, io: CommandIo): Promise<number> {
	const credentials = loadControllerCredentials(paths);
	const store = openControllerRegistry(paths);
	const registry = await store.read();
	const records = resolveTargets(registry, input.on, {defaultAll: true});
	const context = createClientContext(credentials);
	let views: AgentView[];
	try {
		const discover = async (agents: readonly AgentRecord[]) => discoverAgents(agents, context, {parallel: 64, timeoutMs: input.timeoutSeconds * 1000, revoked: revokedSerials(registry)});
		const found = await viewAgents({registry: store, discover, now: () => new Date()}, records);
		views = found.agents;
		rememberScripts(paths, views.flatMap(view => view.scripts.map(script => script.name)));
		// Keeping certificates current must never cost the operator the list itself.
		await keepCertificatesCurrent(paths, found.reachable, context, io).catch((error: unknown) => {
			io.stderr(`xi-exec: warning: keeping certificates current failed: ${(error as Error).message}\n`);
		});
	} finally {
		await context.close();
	}

	if (input.json) {
		io.stdout(safeJson({agents: views}, 2) + '\n');
		return 0;
	}

	if (views.length === 0) {
		io.stdout('No agents are paired yet. Pair one with `xi-exec pair --listen HOST:PORT`.\n');
		return 0;
	}

	io.stdout(formatAgentTable(views, new Date()));
	return 0;
}

/** Renewals and a rotation's handover for the agents that answered, then warnings about our own certificates (on stderr). */
async function keepCertificatesCurrent(paths: ControllerPaths, reached: AgentRecord[], context: ClientContext, io: CommandIo): Promise<void> {
	let audit: AuditLog | undefined;
	try {
		const done = await maintainAfterContact({paths, context, caller: defaultCaller(), now: () => new Date(), audit: () => (audit ??= openControllerAudit(paths))}, reached);
		io.stderr(done ? certificateNotes(done) : '');
	} finally {
		await audit?.close();
	}

	const warnings = (await gatherHealth(paths, new Date())).filter(finding => finding.level !== 'ok' && (finding.subject.endsWith('certificate') || finding.subject === 'rotation'));
	io.stderr(warnings.map(finding => `xi-exec: ${finding.level === 'fail' ? 'error' : 'warning'}: ${finding.subject}: ${finding.message}\n`).join(''));
}

export function formatAgentTable(views: readonly AgentView[], now: Date): string {
	const rows = [
		['NAME', 'ADDRESS', 'TRANSPORT', 'STATUS', 'SCRIPTS', 'SEEN', 'EXPIRES', 'TAGS'],
		...views.map(view => [
			view.name,
			view.address,
			view.transport,
			view.status,
			view.status === 'reachable' ? String(view.scripts.length) : '-',
			seenText(view, now).replace(/^seen /, ''),
			view.certificateExpires.slice(0, 10),
			formatTags(view.tags) + (view.drifted ? ' (drifted)' : ''),
		]),
	];
	const widths = rows[0]!.map((_, column) => Math.max(...rows.map(row => row[column]!.length)));
	const lines = rows.map(row => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd());
	const reasons = views.filter(view => view.reason).map(view => `${view.name}: ${visible(view.reason!)}`);
	const drifts = views.filter(view => view.drifted).map(view => `${view.name} drifted: its own tags differ from the registry's, which decides: ${visible(describeDrift(view.tags, view.reportedTags!))}. Reconcile with \`xi-exec tag ${view.name} KEY=VALUE\` or \`xi-exec untag ${view.name} KEY\`, or \`xi-exec-agent tag set|unset\` on the host.`);
	const notes = [...reasons, ...drifts, ...unwatchedNote(views)];
	return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n') + '\n';
}

/**
 * Relay agents that did not answer now and whose broker no `xi-exec serve` watches: what SEEN says
 * is their last answer, since nobody counts their heartbeats (a listing does not wait up to 30 s to
 * hear one). Said once for all of them.
 */
function unwatchedNote(views: readonly AgentView[]): string[] {
	const names = views.filter(view => view.status !== 'reachable' && view.relayPresence?.state === 'unwatched').map(view => view.name);
	return names.length === 0 ? [] : [`${foldNames(names)}: relay presence is not watched (no xi-exec serve is watching ${names.length === 1 ? 'its broker' : 'their brokers'}): SEEN is the last answer. Run \`xi-exec serve\` to count relay agents' signed heartbeats.`];
}

/**
 * The script names found, added to those found before, for shell completion (`xi-exec
 * completion`); a failure to read or write costs nothing.
 */
function rememberScripts(paths: ControllerPaths, names: string[]): void {
	try {
		let known: unknown[] = [];
		try {
			known = (JSON.parse(readFileSync(scriptCachePath(paths), 'utf8')) as {scripts: unknown[]}).scripts;
		} catch {
			// The first listing.
		}

		const scripts = [...new Set([...known, ...names])].filter((name): name is string => typeof name === 'string' && isScriptName(name)).sort();
		writeFileSync(scriptCachePath(paths), `${JSON.stringify({scripts})}\n`, {mode: 0o600});
	} catch {
		// Completion then knows the scripts of the history only.
	}
}
