/** The controller's audit log for one console call: opened when the call first needs it, closed when the call ends. */
import type {AuditLog} from '../audit/file-log.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {ControllerPaths} from '../home.js';

export async function withLazyAudit<T>(paths: ControllerPaths, use: (audit: () => AuditLog) => Promise<T>): Promise<T> {
	let audit: AuditLog | undefined;
	try {
		return await use(() => (audit ??= openControllerAudit(paths)));
	} finally {
		await audit?.close().catch(() => undefined);
	}
}
