/**
 * What `xi-exec doctor` (and the warnings under `xi-exec agents`) say about the fleet's
 * certificates. Pure: the facts and the clock come in, a list of findings goes out.
 */
import {agentValidity, expiryState, renewalDue} from './expiry.js';

export type Finding = {level: 'ok' | 'warn' | 'fail'; subject: string; message: string};

export type CertificateFactsForHealth = {
	ca: {notAfter: Date};
	own: Array<{what: string; notAfter: Date}>;
	caKey: {present: boolean; mode?: number; encrypted: boolean};
	agents: Array<{name: string; certificateIssued?: string; certificateExpires: string}>;
	rotation?: {serial: string; pending: string[]};
	threshold: number;
};

const day = 24 * 60 * 60 * 1000;
/** The CA outlives everything it signs: warn a year ahead, so a new CA can be announced in time. */
const caWarnDays = 365;

export function certificateHealth(facts: CertificateFactsForHealth, now: Date): Finding[] {
	const findings: Finding[] = [];
	const ca = expiryState(facts.ca.notAfter, now, caWarnDays);
	findings.push(ca.state === 'ok'
		? {level: 'ok', subject: 'CA certificate', message: `valid until ${date(facts.ca.notAfter)} (${ca.daysLeft} days)`}
		: {level: ca.state === 'expired' ? 'fail' : 'warn', subject: 'CA certificate', message: `${ca.state === 'expired' ? 'expired' : 'expires'} ${date(facts.ca.notAfter)}; announce a new CA under the old one before then (README: "Rotating the CA")`});

	for (const own of facts.own) {
		const state = expiryState(own.notAfter, now);
		findings.push(state.state === 'ok'
			? {level: 'ok', subject: own.what, message: `valid until ${date(own.notAfter)} (${state.daysLeft} days)`}
			: {level: state.state === 'expired' ? 'fail' : 'warn', subject: own.what, message: `${state.state === 'expired' ? 'expired' : 'expires'} ${date(own.notAfter)}; ${own.what === 'controller certificate' ? 'run `xi-exec rotate`' : 'not renewed automatically yet: see "Certificates over time" in the README'}`});
	}

	if (!facts.caKey.present) {
		findings.push({level: 'warn', subject: 'CA key', message: 'not on this host (kept offline): pairing, renewal and rotation wait until it is back'});
	} else if (facts.caKey.mode !== undefined && (facts.caKey.mode & 0o077) !== 0) {
		findings.push({level: 'fail', subject: 'CA key', message: `readable by others (mode ${facts.caKey.mode.toString(8)}); run \`chmod 600\` on it`});
	} else {
		findings.push({level: 'ok', subject: 'CA key', message: facts.caKey.encrypted ? 'apart, mode 600, passphrase-protected' : 'apart, mode 600 (`xi-exec ca protect` adds a passphrase)'});
	}

	if (facts.rotation) {
		findings.push(facts.rotation.pending.length === 0
			? {level: 'ok', subject: 'rotation', message: `every agent has serial ${facts.rotation.serial}; the next contact completes it`}
			: {level: 'warn', subject: 'rotation', message: `serial ${facts.rotation.serial} not yet pinned by ${facts.rotation.pending.join(', ')}; run \`xi-exec rotate\` when they are reachable`});
	}

	for (const agent of facts.agents) {
		const validity = agentValidity(agent);
		const state = expiryState(validity.notAfter, now);
		if (state.state === 'expired') {
			findings.push({level: 'fail', subject: `agent ${agent.name}`, message: `certificate expired ${date(validity.notAfter)}; pair it again (\`xi-exec pair --replace\`)`});
		} else if (renewalDue(validity, now, facts.threshold)) {
			findings.push({level: 'warn', subject: `agent ${agent.name}`, message: `certificate expires ${date(validity.notAfter)}; renewed at the next contact, or now with \`xi-exec renew --on ${agent.name}\``});
		}
	}

	return findings;
}

function date(value: Date): string {
	return new Date(Math.floor(value.getTime() / day) * day).toISOString().slice(0, 10);
}
