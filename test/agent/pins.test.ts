import test from 'ava';
import {announceSerial, confirmSerial, type Pins} from '../../agent/pins.js';

const pins = (...controllerSerials: string[]): Pins => ({caSha256: 'ca', controllerSerials});

const cases: Array<{title: string; start: Pins; steps: Array<['announce' | 'confirm', string]>; end: string[]}> = [
	{title: 'an announced serial is accepted alongside the old one', start: pins('old'), steps: [['announce', 'new']], end: ['old', 'new']},
	{title: 'seeing the new serial retires the old one', start: pins('old'), steps: [['announce', 'new'], ['confirm', 'new']], end: ['new']},
	{title: 'seeing the old serial again changes nothing', start: pins('old'), steps: [['announce', 'new'], ['confirm', 'old']], end: ['old', 'new']},
	{title: 'announcing the same serial twice keeps one', start: pins('old'), steps: [['announce', 'new'], ['announce', 'new']], end: ['old', 'new']},
	{title: 'announcing the serial in use changes nothing', start: pins('old'), steps: [['announce', 'old']], end: ['old']},
	{title: 'a third announcement keeps the newest three', start: pins('a'), steps: [['announce', 'b'], ['announce', 'c'], ['announce', 'd']], end: ['b', 'c', 'd']},
	{title: 'confirming an unannounced serial adds nothing', start: pins('old'), steps: [['confirm', 'forged']], end: ['old']},
	{title: 'confirming the middle of three keeps all three', start: pins('a'), steps: [['announce', 'b'], ['announce', 'c'], ['confirm', 'b']], end: ['a', 'b', 'c']},
];

for (const c of cases) {
	test(c.title, t => {
		let current = c.start;
		for (const [step, serial] of c.steps) {
			current = step === 'announce' ? announceSerial(current, serial) : confirmSerial(current, serial);
		}

		t.deepEqual(current.controllerSerials, c.end);
		t.is(current.caSha256, 'ca');
	});
}

test('a step that changes nothing returns the same object (nothing to save)', t => {
	const start = pins('old', 'new');
	t.is(confirmSerial(start, 'old'), start);
	t.is(announceSerial(start, 'new'), start);
});
