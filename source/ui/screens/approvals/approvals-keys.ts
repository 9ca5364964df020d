/** The approvals screen's keys, for the console's key table (key-help.ts) and its footer. */
export const approvalsKeys: Array<[keys: string, meaning: string, short?: string]> = [
	['↑↓ j k', 'select request', '↑↓ select'],
	['Enter', 'approve: type the number of hosts, then Enter', 'Enter approve'],
	['x', 'reject: type a reason, then Enter', 'x reject'],
	['g', 'read again'],
	['Esc', 'back (or leave what is being typed)', 'Esc back'],
	['Ctrl-C', 'quit'],
];
