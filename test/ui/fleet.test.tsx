import test from 'ava';
import {FakeCore, demoFleet, reachable, unreachable} from './helpers/fake-core.js';
import {keys, normalise, press, renderApp, selected, waitForFrame} from './helpers/frames.js';

const blank = (count: number) => '\n'.repeat(count);
const fleetHints = '↑↓ move · / filter · Enter open · r run · p pair · h history · ? help · q quit';
const filterHints = 'type the filter · Enter keep · Esc clear · Backspace erase · Ctrl-C quit';

test('fleet: every agent is checking (with a spinner) until discovery answers, one by one', async t => {
	const core = new FakeCore({discovery: 'manual'});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'checking 6'), `xi-exec                                                                    fleet
Filter (/):    6 of 6 agents   ⠋ checking 6
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
cache1 127.0.0.1:7441 checking    -       -    90d     env=production role=cach…
db1    127.0.0.1:7442 checking    -       -    90d     env=production role=db s…
db2    127.0.0.1:7443 checking    -       -    90d     env=staging role=db site…
web1   127.0.0.1:7444 checking    -       -    90d     env=production role=web …
web2   127.0.0.1:7445 checking    -       -    90d     env=production role=web …
web3   127.0.0.1:7446 checking    -       -    90d     env=staging role=web sit…${blank(14)}${fleetHints}`);

	core.discovered(unreachable(demoFleet[2]!, 'connect ECONNREFUSED 127.0.0.1:7443'));
	t.regex(await waitForFrame(console, 'checking 5'), /\ndb2 {4}127\.0\.0\.1:7443 unreachable -/);

	for (const record of demoFleet.filter(record => record.name !== 'db2')) {
		core.discovered(reachable(record));
	}

	t.is(await waitForFrame(console, frame => !frame.includes('checking')), `xi-exec                                                                    fleet
Filter (/):    6 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
cache1 127.0.0.1:7441 reachable   3       0s   90d     env=production role=cach…
db1    127.0.0.1:7442 reachable   3       0s   90d     env=production role=db s…
db2    127.0.0.1:7443 unreachable -       -    90d     env=staging role=db site…
web1   127.0.0.1:7444 reachable   3       0s   90d     env=production role=web …
web2   127.0.0.1:7445 reachable   3       0s   90d     env=production role=web …
web3   127.0.0.1:7446 reachable   3       0s   90d     env=staging role=web sit…${blank(14)}${fleetHints}`);
	t.deepEqual(console.largest(), {lines: 23, columns: 80}, 'every frame fits 80×24 with a line to spare');
});

test('fleet: / filters by tag as you type, with the count, the tag filtered on first; Enter keeps it, Esc clears it', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	t.is(await press(console, 'role=web', 'role=web    3 of 6 agents'), `xi-exec                                                                    fleet
Filter: role=web    3 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
web1   127.0.0.1:7444 reachable   3       0s   90d     role=web env=production …
web2   127.0.0.1:7445 reachable   3       0s   90d     role=web env=production …
web3   127.0.0.1:7446 reachable   3       0s   90d     role=web env=staging sit…${blank(17)}${filterHints}`);
	t.is(await press(console, keys.enter, 'Filter (/): role=web'), `xi-exec                                                                    fleet
Filter (/): role=web   3 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
web1   127.0.0.1:7444 reachable   3       0s   90d     role=web env=production …
web2   127.0.0.1:7445 reachable   3       0s   90d     role=web env=production …
web3   127.0.0.1:7446 reachable   3       0s   90d     role=web env=staging sit…${blank(17)}${fleetHints}`);

	await press(console, '/', 'Filter: role=web');
	t.is(await press(console, 'x', '0 of 6 agents'), `xi-exec                                                                    fleet
Filter: role=webx    0 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
No agent matches this filter (web* for names starting web). Esc clears it.${blank(19)}${filterHints}`);
	await press(console, keys.backspace, 'Filter: role=web    3 of 6 agents');
	await press(console, keys.escape, 'Filter (/): role=web   3 of 6 agents');
	await press(console, keys.escape, 'Filter (/):    6 of 6 agents');
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('fleet: a pasted filter ending in Enter is typed, then kept', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	const frame = await press(console, 'env=production,role=db\r', 'Filter (/)');
	t.true(frame.startsWith(`xi-exec                                                                    fleet
Filter (/): env=production,role=db   1 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES TAGS
db1    127.0.0.1:7442 reachable   3       0s   90d     env=production role=db s…
`), frame);
});

test('fleet: at 100 columns the tags are not cut, and when each agent was seen is shown', async t => {
	const console = await renderApp(new FakeCore(), {columns: 100, rows: 24});
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'web3   127.0.0.1:7446 reachable'), `xi-exec                                                                                        fleet
Filter (/):    6 of 6 agents
NAME   ADDRESS        STATUS      SCRIPTS SEEN EXPIRES    TAGS
cache1 127.0.0.1:7441 reachable   3       0s   2099-02-24 env=production role=cache site=paris
db1    127.0.0.1:7442 reachable   3       0s   2099-02-24 env=production role=db site=london
db2    127.0.0.1:7443 reachable   3       0s   2099-02-24 env=staging role=db site=paris
web1   127.0.0.1:7444 reachable   3       0s   2099-02-24 env=production role=web site=london
web2   127.0.0.1:7445 reachable   3       0s   2099-02-24 env=production role=web site=paris
web3   127.0.0.1:7446 reachable   3       0s   2099-02-24 env=staging role=web site=london${blank(14)}${fleetHints} · a audit trail`);
});

test('fleet: the cursor moves with ↓ and j; Enter shows that agent, with why it is unreachable', async t => {
	const core = new FakeCore({discovery: demoFleet.map(record => (record.name === 'db2' ? unreachable(record, 'connect ECONNREFUSED 127.0.0.1:7443') : reachable(record)))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.deepEqual(selected(console).map(line => normalise(line)), ['cache1 127.0.0.1:7441 reachable   3       0s   90d     env=production role=cach…']);
	await press(console, keys.down, () => selected(console)[0]!.startsWith('db1 '));
	await press(console, 'j', () => selected(console)[0]!.startsWith('db2 '));
	t.deepEqual(selected(console).map(line => normalise(line)), ['db2    127.0.0.1:7443 unreachable -       -    90d     env=staging role=db site…']);
	t.is(await press(console, keys.enter, 'ECONNREFUSED'), `xi-exec                                                                    agent
db2  unreachable  never seen
address 127.0.0.1:7443   certificate expires 2099-02-24
tags env=staging role=db site=paris
connect ECONNREFUSED 127.0.0.1:7443
Scripts are known once the agent answers.${blank(17)}r run on this agent · h its runs · Esc back · ? help · Ctrl-C quit`);
	await press(console, keys.escape, 'Filter (/)');
	await press(console, 'k', () => selected(console)[0]!.startsWith('db1 '));
	await press(console, keys.up, () => selected(console)[0]!.startsWith('cache1 '));
	await press(console, keys.up, () => true);
	t.true(selected(console)[0]!.startsWith('cache1 '), 'the cursor stops at the top');
	await press(console, keys.down, () => selected(console)[0]!.startsWith('db1 '));
	t.is(await press(console, keys.enter, 'agent\n'), `xi-exec                                                                    agent
db1  reachable  seen 0 s ago
address 127.0.0.1:7442   certificate expires 2099-02-24
tags env=production role=db site=london
┌───────────────┬─────────┬───────────────────────┐
│ script        │ timeout │ description           │
├───────────────┼─────────┼───────────────────────┤
│ check-service │ 30 s    │ Check the web service │
├───────────────┼─────────┼───────────────────────┤
│ deploy        │ 60 s    │ Deploy a colour       │
├───────────────┼─────────┼───────────────────────┤
│ restart-app   │ 30 s    │ Restart the app       │
└───────────────┴─────────┴───────────────────────┘${blank(10)}r run on this agent · h its runs · Esc back · ? help · Ctrl-C quit`);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('help: ? shows every key; any key goes back to where it was', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.is(await press(console, '?', 'Keys'), `xi-exec                                                                     help
Keys on the fleet
↑↓ j k               move
/                    filter
Enter                the agent's details
r                    run on the agents shown
p                    pair new agents
h                    run history
?                    every key
q                    quit
a                    audit trail
PgUp PgDn Home End   a page, the ends
g                    ask every agent again
Esc                  clear the filter
Ctrl-C               quit
Press any key to go back.${blank(7)}any key: back`);
	await press(console, 'q', 'Filter (/)');
	await press(console, keys.enter, 'cache1  reachable');
	await press(console, '?', 'Keys');
	await press(console, ' ', 'cache1  reachable');
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('fleet: an empty registry says how to add an agent', async t => {
	const console = await renderApp(new FakeCore({agents: []}));
	t.teardown(console.unmount);
	t.is(await waitForFrame(console, 'No agents'), `xi-exec                                                                    fleet
Filter (/):    0 of 0 agents
NAME ADDRESS STATUS      SCRIPTS SEEN EXPIRES TAGS
No agents are paired yet. Press p to pair one.${blank(19)}${fleetHints}`);
});

test('fleet: 300 agents at 80×24 show a window around the cursor and still fit', async t => {
	const agents = Array.from({length: 300}, (_, index) => ({...demoFleet[index % 6]!, name: `host${String(index).padStart(3, '0')}`, address: `10.0.${Math.floor(index / 250)}.${index % 250}:7443`}));
	const console = await renderApp(new FakeCore({agents}));
	t.teardown(console.unmount);
	await waitForFrame(console, 'host015');
	for (let index = 1; index <= 30; index++) {
		await press(console, 'j', () => selected(console)[0]!.startsWith(`host${String(index).padStart(3, '0')} `));
	}

	// Sixteen rows fit; the cursor (host030) sits in the middle of them.
	const frame = await waitForFrame(console, 'host037');
	t.regex(frame, /NAME.*\nhost022 /);
	t.regex(frame, /\nhost037 .*\n23–38 of 300 · 262 more ↓\n/);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('fleet: an agent whose own tags differ from the registry\'s is marked drifted, and its screen says how', async t => {
	const core = new FakeCore({discovery: demoFleet.map(record => (record.name === 'db1' ? {...reachable(record), reportedTags: {env: 'production', role: 'db', site: 'paris'}} : {...reachable(record), reportedTags: record.tags}))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, keys.down, () => selected(console)[0]!.startsWith('db1 '));
	t.deepEqual(selected(console).map(line => normalise(line)), ['db1    127.0.0.1:7442 reachable   3       0s   90d     (drifted) env=production…']);
	t.false(normalise(console.lastFrame()).includes('cache1 127.0.0.1:7441 reachable   3       0s   90d     (drifted)'));
	t.true(normalise(console.lastFrame()).includes('cache1 127.0.0.1:7441 reachable   3       0s   90d     env=production'));
	const details = await press(console, keys.enter, 'agent\n');
	t.true(details.includes('\ntags env=production role=db site=london\ndrifted: its own tags say site=paris (registry: london)\n'), details);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('fleet: at 80 columns SEEN stays and the tags filtered on are never cut; EXPIRES and SCRIPTS give way for them', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, '/', 'Filter:  ');
	t.is(await press(console, 'site=london,role=web,env=*\r', 'Filter (/)'), `xi-exec                                                                    fleet
Filter (/): site=london,role=web,env=*   2 of 6 agents
NAME   ADDRESS        STATUS      SEEN TAGS
web1   127.0.0.1:7444 reachable   0s   env=production role=web site=london
web3   127.0.0.1:7446 reachable   0s   env=staging role=web site=london${blank(18)}${fleetHints}`);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});
