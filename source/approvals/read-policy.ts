/**
 * Reads the controller's policy file (`policy.json` in its home) and checks it whole: no file is
 * no approval rules; a file that fails its check refuses every run that reads it (CONFIG_INVALID,
 * naming each problem), since a rule that silently dropped out would let a run skip its approval.
 */
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {existsSync, readJsonFile} from '../io/files.js';
import {noApprovals, parseControllerPolicy, type ApprovalPolicy} from './policy.js';

export const controllerPolicyName = 'policy.json';

export function readApprovalPolicy(home: string): ApprovalPolicy {
	const path = join(home, controllerPolicyName);
	if (!existsSync(path)) {
		return noApprovals;
	}

	const parsed = parseControllerPolicy(readJsonFile(path, 'the controller policy file'));
	if (!parsed.ok) {
		throw new XiError('CONFIG_INVALID', `The controller policy file ${path} is refused: ${parsed.problems.join('; ')}. Fix it; until then nothing runs.`);
	}

	return parsed.policy;
}
