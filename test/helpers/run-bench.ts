/** Runs one bench entry point (`bench/NAME.ts`) with tsx from the checkout's root, collecting what it prints. */
import {spawn} from 'node:child_process';

export const repoRoot = new URL('../..', import.meta.url).pathname;

export type BenchRun = {code: number | null; stdout: string; stderr: string};

export async function runBench(script: string, env: NodeJS.ProcessEnv): Promise<BenchRun> {
	return new Promise(resolve => {
		const child = spawn(process.execPath, ['--import=tsx', script], {cwd: repoRoot, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
		});
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		child.on('close', code => resolve({code, stdout, stderr}));
	});
}
