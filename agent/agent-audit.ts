/**
 * The agent's audit log (audit/agent.jsonl, 0600, in a 0700 directory): checkpoints signed with
 * the agent's own key (key id: its certificate's serial), forwarded to syslog when configured.
 * The running daemon is its only writer and holds its lock for life.
 */
import {isAbsolute, join} from 'node:path';
import {anchorOf} from '../source/audit/anchor.js';
import {openAnchorWriter} from '../source/audit/anchor-file.js';
import {XiError} from '../source/errors.js';
import {signerFromPem, verifierFromPems, type CheckpointSigner, type CheckpointVerifier} from '../source/audit/checkpoint.js';
import {openAuditLog, type AuditLog} from '../source/audit/file-log.js';
import type {DurableFs} from '../source/io/durable-fs.js';
import {openSyslogForwarder, readSyslogSettings} from '../source/audit/syslog-settings.js';
import {ensureDirectory, existsSync, readJsonFile, readTextFile} from '../source/io/files.js';
import {X509Certificate} from 'node:crypto';
import {normaliseSerial} from '../source/pki/fingerprints.js';
import type {HookConfig} from './auth-hook.js';
import {previousCertificates} from './credentials.js';
import type {AgentRecorder} from './execute-run.js';
import type {AgentConfig, AgentPaths} from './home.js';

/**
 * Signs with the agent's key, named by its certificate's serial: both files are read and parsed
 * at the first checkpoint, then kept (reading them three times per checkpoint cost ~33 µs a run;
 * parsing, ~0.6 ms). `reload` forgets them, so the next checkpoint reads the files again: the
 * running agent calls it when a renewal has installed new ones, when unpairing has deleted them
 * (a checkpoint then fails, as it did when the files were read at every use), and pairing when it
 * has written its new key.
 */
export function agentSigner(paths: AgentPaths): CheckpointSigner & {reload: () => void} {
	let parsed: CheckpointSigner | undefined;
	const read = () => {
		parsed ??= signerFromPem(normaliseSerial(new X509Certificate(readTextFile(paths.cert, 'the agent certificate')).serialNumber), readTextFile(paths.key, 'the agent key'));
		return parsed;
	};

	return {
		get keyId() {
			return read().keyId;
		},
		sign: data => read().sign(data),
		reload() {
			parsed = undefined;
		},
	};
}

/** The agent's audit log; `credentialsChanged`: the key or certificate files were replaced or deleted (agentSigner's reload). */
export type AgentAuditLog = AuditLog & {credentialsChanged: () => void};

/**
 * `log` hears the syslog forwarder: the collector gone or back, records spooled or dropped, and why.
 * `fs`: the log's writes and fsyncs go through this port (a crash test kills the agent at chosen ones).
 */
export function openAgentAudit(paths: AgentPaths, config: AgentConfig, log?: (event: string, fields: Record<string, unknown>) => void, fs?: DurableFs): AgentAuditLog {
	ensureDirectory(paths.auditDirectory);
	const settings = config.syslog ? readSyslogSettings(readJsonFile(paths.config, 'the agent configuration') as Record<string, unknown>, paths.config) : undefined;
	const forwarder = settings ? openSyslogForwarder(settings, paths.auditLog, 'xi-exec-agent', log ? {onEvent: log} : {}) : undefined;
	const signer = agentSigner(paths);
	// The anchor's slot file, its descriptor kept open for the log's life (anchor-slots.ts).
	const anchor = openAnchorWriter(agentAnchorPath(paths));
	let anchorFailure: string | undefined;
	const audit = openAuditLog({
		path: paths.auditLog,
		side: 'agent',
		signer,
		...(forwarder ? {forward: forwarder.forward} : {}),
		...(config.auditRotateBytes ? {rotateBytes: config.auditRotateBytes} : {}),
		...(fs ? {fs} : {}),
		onCheckpoint(checkpoint) {
			try {
				anchor.write(anchorOf(checkpoint));
				anchorFailure = undefined;
			} catch (error) {
				// The log goes on (verify finds the anchor behind); the operator hears it once per reason.
				const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
				if (reason !== anchorFailure) {
					anchorFailure = reason;
					log?.('audit.anchor-unwritten', {path: agentAnchorPath(paths), reason, next: 'check the file\'s owner and mode and the disk; verify reports the anchor behind until a write succeeds'});
				}

				throw error;
			}
		},
	});
	return {
		...audit,
		credentialsChanged: signer.reload,
		async close() {
			try {
				await audit.close();
				await forwarder?.close();
			} finally {
				anchor.close();
			}
		},
	};
}

/** The agent's audit head in a second place: in its home, outside the audit directory. */
export function agentAnchorPath(paths: AgentPaths): string {
	return join(paths.home, agentAnchorFile);
}

export const agentAnchorFile = 'audit-head.json';

export function agentAuditVerifier(paths: AgentPaths): CheckpointVerifier {
	if (!existsSync(paths.cert)) {
		return verifierFromPems({});
	}

	// Checkpoints signed before a renewal name an earlier certificate's serial: keep them verifiable.
	const pems = [...previousCertificates(paths), readTextFile(paths.cert, 'the agent certificate')];
	return verifierFromPems(Object.fromEntries(pems.map(pem => [normaliseSerial(new X509Certificate(pem).serialNumber), pem])));
}

/**
 * How a run's records reach the disk, in as few batches (one write and one fsync each) as audit
 * before action allows. A run's end is sealed with a checkpoint before its result is sent: the
 * result carries that signed head, so the controller's witness of this log (`audit verify --cross`)
 * covers every run it was told of, and the anchor file follows it; `run.finish` and that checkpoint
 * are queued together, so they share one batch. `run.start` records an action already taken (the
 * script has started) and nothing waits for it: it is held until the run's next record (its
 * `run.finish`, in the same batch) or `holdStartMs`, whichever comes first, so a short run writes
 * its start and end with one fsync and a long one still shows it started within a second.
 */
export function recorderFor(log: AuditLog, agent: string, holdStartMs = 1000): AgentRecorder {
	const held = new Map<string, () => void>();
	const append = async (event: string, fields: Record<string, unknown>) => {
		await log.append({agent, ...fields, event});
	};

	return {
		async record(event, fields) {
			const requestId = typeof fields['requestId'] === 'string' ? fields['requestId'] : undefined;
			if (event === 'run.start' && requestId !== undefined && !held.has(requestId)) {
				return new Promise<void>((resolve, reject) => {
					const write = () => {
						clearTimeout(timer);
						held.delete(requestId);
						append(event, fields).then(resolve, reject);
					};

					const timer = setTimeout(write, holdStartMs);
					held.set(requestId, write);
				});
			}

			// A held start goes first, in the same batch as this record.
			if (requestId !== undefined) {
				held.get(requestId)?.();
			}

			if (event === 'run.finish') {
				await Promise.all([append(event, fields), log.checkpoint()]);
				return;
			}

			await append(event, fields);
		},
		signedHead: () => log.signedHead(),
	};
}

export function hookConfig(config: AgentConfig, paths: AgentPaths): HookConfig | undefined {
	if (!config.hook) {
		return undefined;
	}

	if (!config.hook.startsWith('https://') && !isAbsolute(config.hook)) {
		throw new XiError('CONFIG_INVALID', `"hook" in ${paths.config} must be an absolute path to an executable or an https:// URL.`);
	}

	const timeoutMs = config.hookTimeoutMs ?? 5000;
	return config.hook.startsWith('https://')
		? {url: config.hook, timeoutMs}
		: {command: config.hook, timeoutMs, env: {XI_EXEC_AGENT_HOME: paths.home}};
}
