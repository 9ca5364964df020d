/** The demo's fleet: six agents with their tags, and the harmless sample scripts each one allows. Pure data. */
export type DemoAgent = {name: string; tags: string[]};

export const demoFleet: readonly DemoAgent[] = [
	{name: 'web1', tags: ['env=production', 'role=web', 'site=london']},
	{name: 'web2', tags: ['env=production', 'role=web', 'site=paris']},
	{name: 'db1', tags: ['env=production', 'role=db', 'site=london']},
	{name: 'cache1', tags: ['env=production', 'role=cache', 'site=paris']},
	{name: 'web3', tags: ['env=staging', 'role=web', 'site=london']},
	{name: 'db2', tags: ['env=staging', 'role=db', 'site=paris']},
];

/** Sample scripts, written per agent so their output says where they ran. Harmless: they only print. */
export function sampleScripts(agent: string): Record<string, {body: string; description: string; extra?: {confirm?: boolean; maxTargets?: number}}> {
	return {
		'check-service': {
			description: 'Check the web service (db2 fails, to show a failure)',
			body: `#!/bin/sh\nfor step in config sockets workers upstream; do echo "${agent}: checking $step"; sleep 0.4; done\n${agent === 'db2' ? 'echo "upstream: connection refused" >&2\nexit 3\n' : 'echo "service healthy"\n'}`,
		},
		'disk-usage': {description: 'Disk usage of /', body: '#!/bin/sh\ndf -h / | tail -n 1\n'},
		'echo-args': {description: 'Print each argument on its own line, literally', body: '#!/bin/sh\nfor a in "$@"; do printf \'[%s]\\n\' "$a"; done\n'},
		'slow-count': {description: 'Count to 10, one number every half second', body: `#!/bin/sh\ni=1\nwhile [ $i -le 10 ]; do echo "${agent} $i"; i=$((i+1)); sleep 0.5; done\n`},
		'restart-app': {
			description: 'Pretend to restart the app (asks for confirmation, at most 3 hosts)',
			body: `#!/bin/sh\necho "restarting app on ${agent} (demo: nothing is restarted)"\nsleep 1\necho "app restarted"\n`,
			extra: {confirm: true, maxTargets: 3},
		},
	};
}
