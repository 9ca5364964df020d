/** The agent's commands other than `start`: set up the home and edit the allowlist. */
import {readFileSync, statSync} from 'node:fs';
import {XiError} from '../source/errors.js';
import {ensureDirectory, existsSync, readJsonFile, readTextFile, writeFileAtomic} from '../source/io/files.js';
import {formatHostPort, parseHostPort} from '../source/io/address.js';
import {lockHeld} from '../source/io/brief-lock.js';
import {startTime} from '../source/io/process-identity.js';
import {applyTagChange, parseTag, parseTagChange, type Tags} from '../source/policy/tags.js';
import {isAgentName, isScriptName} from '../source/protocol/text-checks.js';
import {maxTimeoutSeconds, parseAllowlist, pathTextProblem, type AllowlistEntry} from './allowlist.js';
import {inspectExecutable} from './open-executable.js';
import {defaultLimits, readAgentConfig, readAllowlistFile, writeAgentConfig, writeAllowlistFile, type AgentPaths} from './home.js';
import {compileArgsSchema} from '../source/protocol/args-schema.js';
import {isRelayUrl} from '../source/relay/relay-url.js';
import {ownersFor} from './owners.js';

export function initAgent(paths: AgentPaths, options: {name?: string; listen?: string; advertise?: string; relay?: string; tags: string[]}): string {
	if (existsSync(paths.config)) {
		throw new XiError('ALREADY_INITIALISED', `${paths.home} already holds an agent configuration; use another XI_EXEC_AGENT_HOME or remove it first.`);
	}

	const name = options.name ?? '';
	if (!isAgentName(name)) {
		throw new XiError('NAME_INVALID', `--name ${JSON.stringify(name)} must match [a-z0-9][a-z0-9.-]* and must not be "all".`);
	}

	if (options.relay !== undefined && !isRelayUrl(options.relay)) {
		throw new XiError('USAGE', `--relay ${JSON.stringify(options.relay)} must be the broker's nats://HOST:PORT.`);
	}

	// Behind NAT: no port at all, reached only through the broker it dials out to.
	if (options.listen === 'none') {
		if (options.relay === undefined || options.advertise !== undefined) {
			throw new XiError('USAGE', '--listen none opens no port: it needs --relay nats://HOST:PORT (the broker this agent dials out to) and no --advertise.');
		}

		ensureDirectory(paths.home);
		writeAgentConfig(paths, {name, listen: 'none', relay: options.relay, tags: initialTags(options.tags), workingDirectory: '/', limits: defaultLimits});
		writeAllowlistFile(paths, {scripts: {}});
		return name;
	}

	const listen = parseHostPort(options.listen ?? '');
	if (typeof listen === 'string') {
		throw new XiError('USAGE', `--listen ${listen}; for example --listen 10.0.0.5:7441 (or --listen none --relay nats://HOST:PORT behind NAT).`);
	}

	let advertise: string | undefined;
	if (options.advertise !== undefined) {
		const parsed = parseHostPort(options.advertise);
		if (typeof parsed === 'string') {
			throw new XiError('USAGE', `--advertise ${parsed}.`);
		}

		advertise = formatHostPort(parsed);
	} else if (listen.host === '0.0.0.0' || listen.host === '::') {
		throw new XiError('USAGE', `--listen ${formatHostPort(listen)} is a wildcard address; add --advertise HOST:PORT to say where the controller should dial.`);
	}

	const tags = initialTags(options.tags);
	ensureDirectory(paths.home);
	writeAgentConfig(paths, {name, listen: formatHostPort(listen), ...(advertise ? {advertise} : {}), ...(options.relay ? {relay: options.relay} : {}), tags, workingDirectory: '/', limits: defaultLimits});
	writeAllowlistFile(paths, {scripts: {}});
	return name;
}

function initialTags(texts: readonly string[]): Tags {
	const tags: Tags = {};
	for (const text of texts) {
		const tag = parseTag(text);
		if (!tag.ok) {
			throw new XiError('USAGE', `--tag: ${tag.reason}.`);
		}

		tags[tag.key] = tag.value;
	}

	return tags;
}

export type AllowOptions = {description?: string; timeout?: number; schema?: string; runAs?: string; interpreter?: string; maxTargets?: number; confirm?: boolean; readOnly?: boolean};

export function allowScript(paths: AgentPaths, name: string | undefined, path: string | undefined, options: AllowOptions): AllowlistEntry {
	readAgentConfig(paths);
	if (!name || !isScriptName(name)) {
		throw new XiError('NAME_INVALID', `script name ${JSON.stringify(name ?? '')} must match [a-z0-9][a-z0-9._-]*; usage: xi-exec-agent allow NAME /absolute/path.`);
	}

	if (!path) {
		throw new XiError('USAGE', 'usage: xi-exec-agent allow NAME /absolute/path [--description TEXT].');
	}

	if (options.timeout !== undefined && (!Number.isInteger(options.timeout) || options.timeout < 1 || options.timeout > maxTimeoutSeconds)) {
		throw new XiError('USAGE', `--timeout must be whole seconds from 1 to ${maxTimeoutSeconds}; got ${String(options.timeout)}.`);
	}

	const entry: AllowlistEntry = {
		path,
		description: options.description ?? '',
		timeoutSeconds: options.timeout ?? 30,
		...(options.runAs ? {runAs: options.runAs} : {}),
		...(options.interpreter === undefined ? {} : {interpreter: options.interpreter}),
		...(options.maxTargets === undefined ? {} : {maxTargets: options.maxTargets}),
		...(options.confirm ? {confirm: true} : {}),
		...(options.readOnly ? {readOnly: true} : {}),
	};
	if (options.schema !== undefined) {
		let schema: unknown;
		try {
			schema = JSON.parse(options.schema.trimStart().startsWith('{') ? options.schema : readTextFile(options.schema, 'the schema file'));
		} catch (error) {
			throw new XiError('SCHEMA_INVALID', `--schema is not JSON: ${(error as Error).message}.`, {cause: error});
		}

		const compiled = compileArgsSchema(schema);
		if (!compiled.ok) {
			throw new XiError('SCHEMA_INVALID', `--schema: ${compiled.reason}.`);
		}

		entry.args = schema;
	}

	const owners = ownersFor(entry.runAs);
	if (typeof owners === 'string') {
		throw new XiError('SCRIPT_UNSAFE', `${owners}.`);
	}

	// The same validation the allowlist file gets (an absolute path, a normalised interpreter).
	const shape = parseAllowlist({scripts: {[name]: entry}});
	if (!shape.ok) {
		throw new XiError('USAGE', `${shape.problems.join('; ')}.`);
	}

	const check = pathTextProblem(path) ?? (entry.interpreter === undefined ? undefined : pathTextProblem(entry.interpreter)) ?? inspectExecutable(path, owners, entry.interpreter);
	if (typeof check === 'string' || !check.ok) {
		throw new XiError('SCRIPT_UNSAFE', `Refusing to allow ${name}: ${typeof check === 'string' ? check : check.reason}.`);
	}

	const allowlist = readAllowlistFile(paths);
	writeAllowlistFile(paths, {scripts: {...allowlist.scripts, [name]: entry}});
	signalReload(paths);
	return entry;
}

export function denyScript(paths: AgentPaths, name: string | undefined): void {
	const allowlist = readAllowlistFile(paths);
	if (!name || !Object.hasOwn(allowlist.scripts, name)) {
		throw new XiError('SCRIPT_UNKNOWN', `No script named ${JSON.stringify(name ?? '')} is on the allowlist; \`xi-exec-agent scripts\` lists them.`);
	}

	const {[name]: _removed, ...rest} = allowlist.scripts;
	writeAllowlistFile(paths, {scripts: rest});
	signalReload(paths);
}

/**
 * `xi-exec-agent tag set key=value...` / `tag unset key...`: the tags this agent proposes about
 * itself (in config.json). The controller's registry stays authoritative; an agent whose own tags
 * differ from it shows as drifted in discovery. A running agent picks the change up at once.
 */
export function changeOwnTags(paths: AgentPaths, mode: 'set' | 'unset', words: readonly string[]): {before: Tags; after: Tags} {
	const config = readAgentConfig(paths);
	const usageLine = mode === 'set' ? 'xi-exec-agent tag set key=value [key=value...]' : 'xi-exec-agent tag unset key [key...]';
	const parsed = parseTagChange(words, mode);
	if (!parsed.ok) {
		throw new XiError('TAG_INVALID', `tag ${mode}: ${parsed.reason}; usage: ${usageLine}.`);
	}

	const applied = applyTagChange(config.tags, parsed.change);
	if (!applied.ok) {
		throw new XiError('TAG_INVALID', `tag ${mode}: ${applied.reason}.`);
	}

	// Only "tags" changes: the rest of the file stays as the operator wrote it.
	const raw = readJsonFile(paths.config, 'the agent configuration') as Record<string, unknown>;
	writeFileAtomic(paths.config, JSON.stringify({...raw, tags: applied.tags}, null, '\t') + '\n', 0o600);
	signalReload(paths);
	return {before: config.tags, after: applied.tags};
}

/** Tells a running agent (if any) to reload its allowlist and its own tags. */
function signalReload(paths: AgentPaths): void {
	let pid: number;
	try {
		pid = Number(readFileSync(paths.pid, 'utf8').trim());
	} catch {
		return;
	}

	// agent.pid left by an agent that died (a crash, a reboot) may name another process now, which a
	// SIGHUP could kill: signalled while an agent holds the audit lock, or when the process it names
	// started before the file was written (the agent that wrote it, paused or slow to refresh the lock).
	if (Number.isInteger(pid) && pid > 0 && (lockHeld(paths.auditLog) || startedBeforeFile(pid, paths.pid))) {
		try {
			process.kill(pid, 'SIGHUP');
		} catch {
			// Not running: the new allowlist is read at the next start.
		}
	}
}

/** Whether process `pid` started no later than `file` was last written (its start time in ticks, USER_HZ 100, after /proc/stat's boot time); false when either cannot be read. */
function startedBeforeFile(pid: number, file: string): boolean {
	try {
		const startTicks = Number(startTime(pid));
		const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
		const startedMs = (bootSeconds * 1000) + (startTicks * 10);
		// btime is whole seconds: a second of slack.
		return Number.isFinite(startedMs) && startedMs <= statSync(file).mtimeMs + 1000;
	} catch {
		return false;
	}
}
