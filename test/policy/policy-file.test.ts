/** The reference hook's policy file: the local rules and the optional central endpoint, every problem named. */
import test from 'ava';
import {defaultCentralTimeoutMs, parsePolicyFile} from '../../source/policy/policy-file.js';

const rules = [{name: 'anyone', effect: 'allow', callers: ['*'], scripts: ['*']}];

test('central mode is read from the file: a URL and an optional time limit', t => {
	const plain = parsePolicyFile({rules});
	t.true(plain.ok && plain.file.central === undefined);
	const central = parsePolicyFile({rules, central: {url: 'https://controller.example:8443'}});
	t.deepEqual(central.ok && central.file.central, {url: 'https://controller.example:8443', timeoutMs: defaultCentralTimeoutMs});
	const timed = parsePolicyFile({rules, central: {url: 'https://10.0.0.1:8443/v1/policy/check', timeoutMs: 1500}});
	t.deepEqual(timed.ok && timed.file.central, {url: 'https://10.0.0.1:8443/v1/policy/check', timeoutMs: 1500});
});

const refused: Array<[string, unknown, RegExp]> = [
	['not an object', 'https://c:1', /"central" must be an object/],
	['plain http', {url: 'http://controller:8443'}, /"central.url" must be https:\/\/HOST:PORT/],
	['credentials in the URL', {url: 'https://user:pw@controller:8443'}, /without credentials/],
	['a query', {url: 'https://controller:8443/?token=x'}, /without credentials, query or fragment/],
	['not a URL', {url: 'controller:8443'}, /must be https/],
	['no URL', {}, /got undefined/],
	['a time limit too long for the hook', {url: 'https://c:1', timeoutMs: 600_000}, /"central.timeoutMs" must be whole milliseconds from 100 to 60000/],
	['an unknown key (a typo must not switch central mode off)', {url: 'https://c:1', timeout: 5}, /takes "url" and "timeoutMs", not "timeout"/],
];

for (const [what, central, problem] of refused) {
	test(`central: ${what} is refused`, t => {
		const parsed = parsePolicyFile({rules, central});
		t.false(parsed.ok);
		t.regex(parsed.ok ? '' : parsed.problems.join('; '), problem);
	});
}

test('problems in the rules and in central are reported together', t => {
	const parsed = parsePolicyFile({rules: [{name: 'bad', effect: 'maybe', callers: ['*'], scripts: ['*']}], central: {url: 'http://x'}});
	t.false(parsed.ok);
	t.is(parsed.ok ? 0 : parsed.problems.length, 2);
});

test('a key the file does not know is refused, beside "rules" and "central"', t => {
	const parsed = parsePolicyFile({rules, centrl: {url: 'https://c:1'}});
	t.deepEqual(parsed, {ok: false, problems: ['unknown key "centrl" in the policy (it takes "rules", "central")']});
});
