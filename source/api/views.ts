/** What the API answers, shaped from the core's values. Pure. */
import type {Discovered} from '../dispatch/discover.js';
import {sameTags} from '../policy/tags.js';
import type {AgentRecord} from '../registry/model.js';
import {compileAdvertisedSchema} from '../core/advertised-schema.js';

export function agentView(record: AgentRecord, found: Discovered, lastSeen: string | undefined, showScript: (name: string) => boolean) {
	return {
		name: record.name,
		address: record.address,
		tags: record.tags,
		reportedTags: found.reportedTags ?? null,
		drifted: found.reportedTags !== undefined && !sameTags(record.tags, found.reportedTags),
		status: found.status,
		reason: found.reason ?? null,
		lastSeen: lastSeen ?? null,
		certificateExpires: record.certificateExpires,
		scripts: found.scripts.filter(script => showScript(script.name)).map(script => {
			const compiled = script.args === undefined ? undefined : compileAdvertisedSchema(script.args);
			return {
				name: script.name,
				description: script.description,
				timeoutSeconds: script.timeoutSeconds,
				args: script.args ?? null,
				schemaProblem: compiled && !compiled.ok ? compiled.reason : null,
				maxTargets: script.maxTargets ?? null,
				confirm: script.confirm === true,
			};
		}),
	};
}
