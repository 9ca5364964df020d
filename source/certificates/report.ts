/** A maintenance report in words, one line per agent that something happened to. */
import {visible} from '../output/visible.js';
import type {MaintenanceReport} from './maintain.js';

export function formatMaintenance(report: MaintenanceReport): string {
	const lines = [
		...report.announced.map(agent => `${agent}: pinned the new controller serial`),
		...report.announceFailed.map(({agent, reason}) => `${agent}: did not get the new controller serial (${visible(reason)})`),
		...report.renewed.map(({agent, serial, notAfter}) => `${agent}: renewed, serial ${serial}, valid until ${notAfter.slice(0, 10)}`),
		...report.renewalFailed.map(({agent, reason}) => `${agent}: renewal failed (${visible(reason)})`),
		...(report.renewalQueued ? [`renewal queued for ${report.renewalQueued.agents.join(', ')}: ${report.renewalQueued.reason}`] : []),
		...(report.rotationCompleted ? [`rotation complete: the controller now uses serial ${report.rotationCompleted.serial}; serial ${report.rotationCompleted.previousSerial} is retired`] : []),
	];
	return lines.length === 0 ? 'Nothing to do: every certificate is current.\n' : lines.join('\n') + '\n';
}

export function somethingHappened(report: MaintenanceReport): boolean {
	return report.renewed.length + report.renewalFailed.length + report.announced.length + report.announceFailed.length > 0 || report.renewalQueued !== undefined || report.rotationCompleted !== undefined;
}
