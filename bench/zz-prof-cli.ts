import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {freePortBlock} from './environment.js';
import {controllerHomeWith, createFleet} from './fleet.js';
import {dealRoundRobin, startHosts, reapedChildrenCpuMs} from './hosts.js';
import {runTimed} from './processes.js';
const n = Number(process.env.N ?? 100);
const root = mkdtempSync(join(tmpdir(), 'lat-prof-'));
const port = await freePortBlock(n);
const fleet = await createFleet(root, n, port);
const hosts = await startHosts('agent-host.ts', dealRoundRobin(fleet.agents.map(a => a.home), 2), root);
const home = await controllerHomeWith(fleet, root, n);
const cli = process.env.CLI ?? '/work/wt-latency/dist/source/cli.js';
const profDir = process.env.PROF;
try {
  for (let i = 0; i < Number(process.env.RUNS ?? 5); i++) {
    const before = reapedChildrenCpuMs();
    const args = [...(profDir && i > 0 ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), cli, 'run', 'uptime', '--on', process.env.ON ?? 'all', '--parallel', '256', '--home', home];
    const r = await runTimed(process.execPath, args);
    console.log(`run ${i}: ${r.ms.toFixed(0)} ms, CPU ${reapedChildrenCpuMs() - before} ms, code ${r.code} ${r.code ? r.stderr.slice(0, 200) : ''}`);
  }
} finally { await hosts.stop(); }
