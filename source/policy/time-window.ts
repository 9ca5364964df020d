/** A rule's time window: `{"days": ["mon", ...], "hours": "08:00-18:00", "timeZone": "Europe/London"}`. Pure. */
import {isObject, stringList} from './json-checks.js';
import type {TimeWindow} from './policy-rule.js';

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Whether `now` is inside the window, on the wall clock of its time zone; hours may run past midnight (22:00-06:00). */
export function inWindow(window: TimeWindow, now: Date): boolean {
	const parts = new Intl.DateTimeFormat('en-GB', {timeZone: window.timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'}).formatToParts(now);
	const part = (type: string) => parts.find(item => item.type === type)?.value ?? '';
	const day = dayNames.indexOf(part('weekday').toLowerCase().slice(0, 3));
	const minute = (Number(part('hour')) * 60) + Number(part('minute'));
	if (window.days && !window.days.includes(day)) {
		return false;
	}

	if (window.from !== undefined && window.to !== undefined) {
		return window.from <= window.to ? minute >= window.from && minute < window.to : minute >= window.from || minute < window.to;
	}

	return true;
}

export function parseWindow(value: unknown, fail: (message: string) => void): TimeWindow | undefined {
	if (!isObject(value)) {
		fail('"window" must be an object');
		return undefined;
	}

	const window = value as {days?: unknown; hours?: unknown; timeZone?: unknown};
	const timeZone = window.timeZone ?? 'UTC';
	if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) {
		fail(`"window.timeZone" ${JSON.stringify(timeZone)} is not a time zone`);
		return undefined;
	}

	const parsed: TimeWindow = {timeZone};
	if (window.days !== undefined) {
		const days = stringList(window.days)?.map(day => dayNames.indexOf(day.toLowerCase().slice(0, 3)));
		if (!days || days.includes(-1)) {
			fail('"window.days" must list days such as "mon", "tue"');
			return undefined;
		}

		parsed.days = days;
	}

	if (window.hours !== undefined) {
		const match = typeof window.hours === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(window.hours) : null;
		if (!match) {
			fail('"window.hours" must look like "08:00-18:00"');
			return undefined;
		}

		parsed.from = (Number(match[1]) * 60) + Number(match[2]);
		parsed.to = (Number(match[3]) * 60) + Number(match[4]);
	}

	return parsed;
}

function isTimeZone(timeZone: string): boolean {
	try {
		new Intl.DateTimeFormat('en-GB', {timeZone}).format(0);
		return true;
	} catch {
		return false;
	}
}
