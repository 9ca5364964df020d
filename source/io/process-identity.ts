/**
 * Who holds something across processes: this process as `PID:STARTTIME` (its start time in clock
 * ticks since boot, field 22 of /proc/PID/stat), and whether such a holder is still the same live
 * process — a pid reused by another process after a crash has another start time. Linux (/proc);
 * where it cannot be read, a holder counts as alive (a slot is never freed on a guess).
 */
import {readFileSync} from 'node:fs';

/** Field 22 of /proc/PID/stat (clock ticks after boot), 'gone' when there is no such process, undefined when unreadable. */
export function startTime(pid: number): string | undefined {
	let stat: string;
	try {
		stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
	}

	// The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
	return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

export function processHolder(pid = process.pid): string {
	return `${pid}:${startTime(pid) ?? 'unknown'}`;
}

export function holderAlive(holder: string): boolean {
	const [pid, started] = holder.split(':');
	const now = startTime(Number(pid));
	return now === undefined || started === 'unknown' || (now !== 'gone' && now === started);
}
