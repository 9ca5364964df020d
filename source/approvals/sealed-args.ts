/**
 * The secret arguments of an open request's plan, sealed at rest. A request keeps the plan it was
 * approved for until it runs (the plan, not a new resolution, is what runs, from whichever
 * controller process claims it); the arguments a script's schema marks secret are the positions
 * where the plan's shown arguments differ (run/plan.ts secretPositions). In approvals.json those
 * positions hold "" and the values travel in `sealed`:
 *
 *   key         32 random bytes, `approvals.key` in the controller's home (0600), made on first use
 *   cipher      AES-256-GCM, a random 12-byte IV, the 16-byte tag after the ciphertext
 *   plaintext   the JSON array of the secret values, in the order of `positions`
 *   AAD         "xi-exec approval args v1\n" + canonical JSON {request, planHash, positions}
 *
 * The AAD binds a blob to its request and plan: copied into another request it does not open.
 * What a reader of approvals.json alone learns is the shown form (a salted hash per value) and the
 * ciphertext's length. Pure (node:crypto only): the key comes in.
 */
import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto';
import {canonical} from '../audit/record.js';
import {secretPositions, type RunPlan} from '../run/plan.js';

export type SealedPlanArgs = {positions: number[]; iv: string; data: string};

const label = 'xi-exec approval args v1\n';
const tagBytes = 16;

function aad(request: string, planHash: string, positions: readonly number[]): Buffer {
	return Buffer.from(label + canonical({request, planHash, positions}));
}

/** The plan with its secret values replaced by "", and those values sealed; no secret: the plan as it is. */
export function sealPlanArgs(plan: RunPlan, request: string, key: Buffer): {plan: RunPlan; sealed?: SealedPlanArgs} {
	const positions = secretPositions(plan);
	if (positions.length === 0) {
		return {plan};
	}

	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', key, iv);
	cipher.setAAD(aad(request, plan.hash, positions));
	const data = Buffer.concat([cipher.update(JSON.stringify(positions.map(index => plan.args[index]))), cipher.final(), cipher.getAuthTag()]);
	return {
		plan: {...plan, args: plan.args.map((value, index) => (positions.includes(index) ? '' : value))},
		sealed: {positions, iv: iv.toString('base64'), data: data.toString('base64')},
	};
}

/** The plan with its secret values back, or why they cannot be opened (another key, a blob moved or changed). */
export function openPlanArgs(plan: RunPlan, sealed: SealedPlanArgs, request: string, key: Buffer): RunPlan | string {
	try {
		const bytes = Buffer.from(sealed.data, 'base64');
		const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
		decipher.setAAD(aad(request, plan.hash, sealed.positions));
		decipher.setAuthTag(bytes.subarray(bytes.length - tagBytes));
		const values = JSON.parse(Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - tagBytes)), decipher.final()]).toString('utf8')) as unknown;
		if (!Array.isArray(values) || values.length !== sealed.positions.length || !values.every(value => typeof value === 'string') || sealed.positions.some(index => !Number.isInteger(index) || index < 0 || index >= plan.args.length)) {
			return 'its sealed arguments do not fit its plan';
		}

		const args = [...plan.args];
		for (const [slot, index] of sealed.positions.entries()) {
			args[index] = values[slot] as string;
		}

		return {...plan, args};
	} catch {
		return 'its sealed arguments do not open with this home\'s approvals.key (another key, or the file was changed)';
	}
}
