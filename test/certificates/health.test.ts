import test from 'ava';
import {certificateHealth, type CertificateFactsForHealth} from '../../source/certificates/health.js';

const day = 24 * 60 * 60 * 1000;
const now = new Date('2026-06-01T00:00:00.000Z');
const inDays = (days: number) => new Date(now.getTime() + (days * day));

const healthy: CertificateFactsForHealth = {
	ca: {notAfter: inDays(3000)},
	own: [{what: 'controller certificate', notAfter: inDays(300)}],
	caKey: {present: true, mode: 0o600, encrypted: false},
	agents: [{name: 'web1', certificateIssued: inDays(-10).toISOString(), certificateExpires: inDays(80).toISOString()}],
	threshold: 1 / 3,
};

const problems = (facts: Partial<CertificateFactsForHealth>) => certificateHealth({...healthy, ...facts}, now).filter(finding => finding.level !== 'ok').map(finding => `${finding.level} ${finding.subject}: ${finding.message}`);

const cases: Array<{title: string; facts: Partial<CertificateFactsForHealth>; expected: string[]}> = [
	{title: 'a healthy fleet', facts: {}, expected: []},
	{title: 'a CA with less than a year left', facts: {ca: {notAfter: inDays(200)}}, expected: ['warn CA certificate: expires 2026-12-18; announce a new CA under the old one before then (README: "Rotating the CA")']},
	{title: 'an expired CA', facts: {ca: {notAfter: inDays(-1)}}, expected: ['fail CA certificate: expired 2026-05-31; announce a new CA under the old one before then (README: "Rotating the CA")']},
	{title: 'a server certificate with 20 days left', facts: {own: [{what: 'server certificate', notAfter: inDays(20)}]}, expected: ['warn server certificate: expires 2026-06-21; not renewed automatically yet: see "Certificates over time" in the README']},
	{title: 'a controller certificate with 20 days left', facts: {own: [{what: 'controller certificate', notAfter: inDays(20)}]}, expected: ['warn controller certificate: expires 2026-06-21; run `xi-exec rotate`']},
	{title: 'a CA key readable by its group', facts: {caKey: {present: true, mode: 0o640, encrypted: false}}, expected: ['fail CA key: readable by others (mode 640); run `chmod 600` on it']},
	{title: 'a CA key kept offline', facts: {caKey: {present: false, encrypted: false}}, expected: ['warn CA key: not on this host (kept offline): pairing, renewal and rotation wait until it is back']},
	{title: 'an agent due for renewal', facts: {agents: [{name: 'web2', certificateIssued: inDays(-70).toISOString(), certificateExpires: inDays(20).toISOString()}]}, expected: ['warn agent web2: certificate expires 2026-06-21; renewed at the next contact, or now with `xi-exec renew --on web2`']},
	{title: 'an expired agent', facts: {agents: [{name: 'web3', certificateExpires: inDays(-2).toISOString()}]}, expected: ['fail agent web3: certificate expired 2026-05-30; pair it again (`xi-exec pair --replace`)']},
	{title: 'a rotation still pending', facts: {rotation: {serial: 'ab', pending: ['web1']}}, expected: ['warn rotation: serial ab not yet pinned by web1; run `xi-exec rotate` when they are reachable']},
];

for (const c of cases) {
	test(c.title, t => {
		t.deepEqual(problems(c.facts), c.expected);
	});
}
