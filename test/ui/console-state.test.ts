/** The console shell's reducer: which screen is shown, what stays mounted under help and audit, and the quit question. */
import test from 'ava';
import type {StoredRun} from '../../source/history/run-record.js';
import type {ConsoleExtension} from '../../source/ui/extensions.js';
import type {KeyRow} from '../../source/ui/key-help.js';
import {
	extensionEntryOf, initialConsole, pairingNotice, reduceConsole, runEntryOf, somethingGoing, type ConsoleAction, type ConsoleState, type ExtensionEntry, type RunScreenEntry,
} from '../../source/ui/use-console-state.js';

const reduce = (...actions: ConsoleAction[]): ConsoleState => actions.reduce(reduceConsole, initialConsole);
const extension = {name: 'runbooks', key: 'b', keys: []} as unknown as ConsoleExtension;

test('each run screen opened is a new one (its id), starting at the pick step, or finished for a past run', t => {
	const first = reduce({type: 'open-run', targets: []});
	t.like(first, {runs: 1, screen: {name: 'run', id: 1}, runStatus: {place: 'pick', going: false}});
	const past = {header: {}} as unknown as StoredRun;
	const second = reduceConsole(reduceConsole(first, {type: 'run-status', status: {place: 'running', going: true}}), {type: 'open-run', targets: [], past, history: {name: 'history'}});
	t.like(second, {runs: 2, screen: {name: 'run', id: 2, past, history: {name: 'history'}}, runStatus: {place: 'finished', going: false}});
});

test('a run screen stays mounted under its audit records and its help; a screen added to the console under its help', t => {
	const run = reduce({type: 'open-run', targets: []}).screen as RunScreenEntry;
	t.is(runEntryOf(run), run);
	t.is(runEntryOf({name: 'audit', requestId: 'r1', back: run}), run);
	t.is(runEntryOf({name: 'help', place: 'running', back: run}), run);
	t.is(runEntryOf({name: 'audit', back: {name: 'fleet'}}), undefined);
	const added = reduce({type: 'open-extension', extension}).screen as ExtensionEntry;
	t.is(extensionEntryOf(added), added);
	t.is(extensionEntryOf({name: 'help', place: 'help', extension, back: added}), added);
	t.is(extensionEntryOf({name: 'help', place: 'fleet', back: {name: 'fleet'}}), undefined);
});

test('opening a screen added to the console forgets what the last one said of itself', t => {
	const said = reduce({type: 'open-extension', extension}, {type: 'extension-status', status: {keys: [], going: true}});
	t.true(somethingGoing(said));
	t.is(reduceConsole(said, {type: 'open-extension', extension}).extensionStatus, undefined);
});

test('history: opened with its search not being typed, from an agent with that agent\'s runs', t => {
	const searching = reduce({type: 'open-history'}, {type: 'history-searching', editing: true});
	t.true(searching.historySearching);
	t.is(reduceConsole(searching, {type: 'history-searching', editing: true}), searching, 'nothing changes when nothing did');
	t.like(reduceConsole(searching, {type: 'open-history', filter: {text: '', agent: 'web1'}}), {historySearching: false, screen: {name: 'history', filter: {text: '', agent: 'web1'}}});
});

test('pairing: the listener stays open when the screen is left, its waiting requests counted in the header; Esc closes it', t => {
	const open = reduce({type: 'open-pairing'}, {type: 'pairing-pending', pending: 2});
	t.is(pairingNotice(open.pairing, open.screen), '', 'not on the pairing screen itself');
	const kept = reduceConsole(open, {type: 'back'});
	t.is(pairingNotice(kept.pairing, kept.screen), 'pairing: listening · 2 requests wait (p)');
	t.is(pairingNotice({open: true, pending: 1}, kept.screen), 'pairing: listening · 1 request waits (p)');
	t.is(pairingNotice({open: true, pending: 0}, kept.screen), 'pairing: listening (p)');
	t.is(reduceConsole(kept, {type: 'pairing-pending', pending: 2}), kept);
	const closed = reduceConsole(open, {type: 'close-pairing'});
	t.deepEqual(closed.pairing, {open: false, pending: 0});
	t.deepEqual(closed.screen, {name: 'fleet'});
	t.is(pairingNotice(closed.pairing, closed.screen), '');
});

test('Ctrl-C asks first only while a run is going on the screen shown; any other key takes the question back', t => {
	const running = reduce({type: 'open-run', targets: []}, {type: 'run-status', status: {place: 'running', going: true}});
	t.true(somethingGoing(running));
	t.false(somethingGoing(reduceConsole(running, {type: 'show', screen: {name: 'help', place: 'running', back: running.screen}})), 'help over a run: Ctrl-C quits');
	t.false(somethingGoing(reduce({type: 'run-status', status: {place: 'running', going: true}})), 'not on the run screen');
	const asked = reduceConsole(running, {type: 'quit-asked'});
	t.true(asked.quitAsked);
	t.false(reduceConsole(asked, {type: 'quit-kept'}).quitAsked);
	t.is(reduceConsole(running, {type: 'quit-kept'}), running, 'nothing to take back');
});

test('a screen telling the same status again changes nothing (its effect runs on every frame)', t => {
	const running = reduce({type: 'run-status', status: {place: 'running', going: true}});
	t.is(reduceConsole(running, {type: 'run-status', status: {place: 'running', going: true}}), running);
	const keys: KeyRow[] = [['c', 'cancel']];
	const said = reduce({type: 'extension-status', status: {keys, going: false}});
	t.is(reduceConsole(said, {type: 'extension-status', status: {keys, going: false}}), said);
});
