/**
 * The agent's own rule for secrets over the relay: an argument its allowlist entry's schema marks
 * `"secret": true` must arrive sealed to this agent's key (protocol/sealed-args.ts), never in
 * plaintext, whatever the controller decided to seal. The controller seals what the agent described
 * when the run was planned; an entry that became secret since (a reload), a controller that did not
 * seal, or a broker that stripped the seal and put a value back all meet this refusal before anything
 * runs. Sealing more than the secret positions is fine (a controller that could not describe any
 * target seals every argument). Pure.
 */
import {isSecretPosition, type SecretArgs} from '../source/protocol/secret-args.js';

/** The positions (0-based) of `args` that are secret on this agent and did not arrive sealed. */
export function plaintextSecrets(args: readonly string[], sealedPositions: readonly number[], secret: SecretArgs): number[] {
	return args.flatMap((_, index) => (isSecretPosition(secret, index) && !sealedPositions.includes(index) ? [index] : []));
}

/** Why a relay run of `script` with these arguments is refused, or undefined when every secret came sealed. */
export function unsealedSecretRefusal(script: string, args: readonly string[], sealedPositions: readonly number[], secret: SecretArgs): string | undefined {
	const plain = plaintextSecrets(args, sealedPositions, secret);
	if (plain.length === 0) {
		return undefined;
	}

	const named = plain.map(index => String(index + 1));
	const which = named.length === 1 ? `argument ${named[0]!}` : `arguments ${named.join(', ')}`;
	return `${which} of ${script} ${named.length === 1 ? 'is' : 'are'} secret on this agent (its allowlist schema) but came in plaintext, not sealed to this agent's key: nothing ran. The broker saw ${named.length === 1 ? 'that value' : 'those values'}: change ${named.length === 1 ? 'it' : 'them'}, then run again (the controller seals what the agent describes as secret)`;
}
