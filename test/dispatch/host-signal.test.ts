/**
 * A host's cancel (host-signal.ts) behaves as node's AbortSignal does for what its users do with
 * one: each scenario runs on a real AbortController's signal and on a HostSignal, and the calls
 * the listeners saw, the `aborted` and the `reason` must be the same.
 */
import test from 'ava';
import {HostSignal, type CancelSignal} from '../../source/dispatch/host-signal.js';

type Subject = {signal: CancelSignal; abort: (reason?: unknown) => void};

const real = (): Subject => {
	const controller = new AbortController();
	return {signal: controller.signal, abort: reason => controller.abort(reason)};
};

const light = (): Subject => {
	const signal = new HostSignal();
	return {signal, abort: reason => signal.abort(reason)};
};

type Scenario = {title: string; run: (subject: Subject, log: string[]) => void};

const scenarios: Scenario[] = [
	{title: 'listeners called once each, in the order added, with the reason set', run({signal, abort}, log) {
		signal.addEventListener('abort', () => log.push(`a ${String(signal.reason)} ${signal.aborted}`), {once: true});
		signal.addEventListener('abort', () => log.push('b'));
		signal.addEventListener('abort', {handleEvent: (event: Event) => log.push(`object ${event.type}`)});
		log.push(`before ${signal.aborted} ${String(signal.reason)}`);
		abort('cancelled');
		abort('again');
		log.push(`after ${String(signal.reason)}`);
	}},
	{title: 'a listener added twice is called once', run({signal, abort}, log) {
		const listener = () => log.push('once');
		signal.addEventListener('abort', listener);
		signal.addEventListener('abort', listener, {once: true});
		abort('x');
	}},
	{title: 'a removed listener is not called; removing one never added does nothing', run({signal, abort}, log) {
		const kept = () => log.push('kept');
		const removed = () => log.push('removed');
		signal.addEventListener('abort', removed);
		signal.addEventListener('abort', kept);
		signal.removeEventListener('abort', removed);
		signal.removeEventListener('abort', () => log.push('never'));
		abort('x');
	}},
	{title: 'the only listener removed: nothing called', run({signal, abort}, log) {
		const only = () => log.push('only');
		signal.addEventListener('abort', only, {once: true});
		signal.removeEventListener('abort', only);
		abort('run-timeout');
		log.push(String(signal.reason));
	}},
	{title: 'a listener removed by an earlier one during the abort is not called', run({signal, abort}, log) {
		const second = () => log.push('second');
		signal.addEventListener('abort', () => {
			log.push('first');
			signal.removeEventListener('abort', second);
		});
		signal.addEventListener('abort', second);
		signal.addEventListener('abort', () => log.push('third'));
		abort('x');
	}},
	{title: 'a listener added during the abort, or after it, is never called', run({signal, abort}, log) {
		signal.addEventListener('abort', () => {
			log.push('first');
			signal.addEventListener('abort', () => log.push('added during'));
		});
		abort('x');
		signal.addEventListener('abort', () => log.push('added after'));
		abort('y');
		log.push(String(signal.reason));
	}},
	{title: 'other event types are not abort listeners', run({signal, abort}, log) {
		signal.addEventListener('other' as 'abort', () => log.push('other'));
		signal.addEventListener('abort', () => log.push('abort'));
		abort('x');
	}},
	{title: 'no reason: an AbortError', run({signal, abort}, log) {
		abort();
		const reason = signal.reason as DOMException;
		log.push(`${reason instanceof DOMException} ${reason.name} ${reason.message}`);
	}},
];

for (const scenario of scenarios) {
	test(`${scenario.title}: as node's AbortSignal`, t => {
		const logs = [real, light].map(make => {
			const log: string[] = [];
			const subject = make();
			scenario.run(subject, log);
			log.push(`end ${subject.signal.aborted}`);
			return log;
		});
		t.true(logs[0]!.length > 1);
		t.deepEqual(logs[1], logs[0]);
	});
}

test.serial('a listener that throws does not stop the others; its error is thrown on the next tick', t => {
	const signal = new HostSignal();
	const log: string[] = [];
	const thrown: Array<() => void> = [];
	const {nextTick} = process;
	process.nextTick = ((callback: () => void) => thrown.push(callback)) as typeof process.nextTick;
	try {
		signal.addEventListener('abort', () => {
			throw new Error('listener failed');
		});
		signal.addEventListener('abort', () => log.push('second'));
		signal.abort('x');
	} finally {
		process.nextTick = nextTick;
	}

	t.deepEqual(log, ['second']);
	t.is(thrown.length, 1);
	t.throws(thrown[0]!, {message: 'listener failed'});
});
