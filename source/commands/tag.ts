/**
 * `xi-exec tag NAME key=value...` and `xi-exec untag NAME key...`: change an agent's tags in the
 * controller's registry, which is authoritative (tags decide token scopes and selectors). The
 * change is audited before it is made (fail closed: no record, no change), with who made it and
 * the tags before and after.
 */
import {XiError} from '../errors.js';
import {openControllerAudit} from '../audit/controller-log.js';
import {openControllerRegistry, type ControllerPaths} from '../home.js';
import {formatTags, parseTagChange, type Tags} from '../policy/tags.js';
import {changeAgentTags} from '../registry/model.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';
import {safeJson} from '../output/visible.js';

export type TagInput = {name?: string; words: string[]; mode: 'set' | 'unset'; json: boolean; caller?: string};

export async function tagCommand(paths: ControllerPaths, input: TagInput, io: CommandIo): Promise<number> {
	const verb = input.mode === 'set' ? 'tag' : 'untag';
	const usageLine = input.mode === 'set' ? 'xi-exec tag NAME key=value [key=value...]' : 'xi-exec untag NAME key [key...]';
	if (!input.name) {
		throw new XiError('USAGE', `usage: ${usageLine}.`);
	}

	const parsed = parseTagChange(input.words, input.mode);
	if (!parsed.ok) {
		throw new XiError('TAG_INVALID', `${verb} ${input.name}: ${parsed.reason}; usage: ${usageLine}.`);
	}

	const name = input.name;
	const store = openControllerRegistry(paths);
	// Checked on what is there now (an unknown agent, a key that is not there) before anything is recorded.
	const planned = changeAgentTags(await store.read(), name, parsed.change);
	const audit = openControllerAudit(paths);
	let changed: {before: Tags; after: Tags} = planned;
	try {
		await audit.append({event: 'agent.tags', agent: name, caller: input.caller ?? defaultCaller(), set: parsed.change.set, unset: parsed.change.unset, before: planned.before, after: planned.after});
		await store.update(registry => {
			const applied = changeAgentTags(registry, name, parsed.change);
			changed = applied;
			return applied.registry;
		});
	} finally {
		await audit.close();
	}

	if (input.json) {
		io.stdout(safeJson({agent: name, tags: changed.after, before: changed.before}) + '\n');
	} else {
		io.stdout(`${name}: ${formatTags(changed.after) || '(no tags)'}${formatTags(changed.before) === formatTags(changed.after) ? ' (unchanged)' : ''}\n`);
	}

	return 0;
}
