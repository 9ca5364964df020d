/**
 * Minted bench fleets kept between runs: a certificate per agent costs ~20 ms of CPU
 * (@peculiar/x509's encoding, not the signature), so 10,000 agents cost minutes on a loaded
 * 2-core machine. A fleet of N agents is minted once — in one worker process per core — into
 * BENCH_FLEET_CACHE (default $TMPDIR/xi-exec-bench-fleets) as `fleet-N/`:
 *
 *   controller/          a controller home as `initControllerHome` leaves it (fleet CA, controller cert)
 *   agents/NAME.key|pem  each agent's own key pair and certificate (role agent, its name)
 *   agents.json          the registry's facts of each agent (serial, fingerprint, validity)
 *
 * A fleet is written under a temporary name and renamed into place whole, so a reader never sees
 * half of one and two benches minting at once each end with a complete fleet. Any cached fleet of
 * at least N agents serves N (its first N agents), while every certificate in it is valid for two
 * more days. What the cache changes: only how long the set-up takes. What it does not: every agent
 * still has its own key and certificate, and every run does every handshake and check.
 */
import {cpus, tmpdir} from 'node:os';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {initControllerHome} from '../source/home.js';
import {mapLimited} from '../source/dispatch/pool.js';
import {startHosts} from './hosts.js';
import type {MintedAgent} from './mint-host.js';

export type CachedFleet = {directory: string; controllerHome: string; agents: MintedAgent[]; keyOf: (name: string) => string; certOf: (name: string) => string};

const twoDaysMs = 2 * 24 * 3600 * 1000;
/** A worker mints this many agents at most, so that each reports well within startHosts' limit. */
const namesPerWorker = 500;

export function fleetCacheDirectory(): string {
	return process.env['BENCH_FLEET_CACHE'] || join(tmpdir(), 'xi-exec-bench-fleets');
}

function opened(directory: string, count: number): CachedFleet | undefined {
	try {
		const agents = (JSON.parse(readFileSync(join(directory, 'agents.json'), 'utf8')) as MintedAgent[]).slice(0, count);
		const fresh = agents.length === count && agents.every(agent => Date.parse(agent.expires) > Date.now() + twoDaysMs);
		return fresh ? {directory, controllerHome: join(directory, 'controller'), agents, keyOf: name => join(directory, 'agents', `${name}.key`), certOf: name => join(directory, 'agents', `${name}.pem`)} : undefined;
	} catch {
		return undefined;
	}
}

/** The smallest cached fleet of at least `count` agents that is still valid, if any. */
function findCached(root: string, count: number): CachedFleet | undefined {
	const sizes = existsSync(root) ? readdirSync(root).map(name => /^fleet-(\d+)$/.exec(name)).filter(match => match !== null).map(match => Number(match[1])).filter(size => size >= count).sort((a, b) => a - b) : [];
	for (const size of sizes) {
		const fleet = opened(join(root, `fleet-${size}`), count);
		if (fleet) {
			return fleet;
		}
	}

	return undefined;
}

/** A fleet of `count` agents named by `nameOf`, from the cache or minted now (and cached). */
export async function cachedFleet(count: number, nameOf: (index: number) => string, log: (text: string) => void, root = fleetCacheDirectory()): Promise<CachedFleet & {minted: boolean}> {
	const found = findCached(root, count);
	if (found) {
		return {...found, minted: false};
	}

	mkdirSync(root, {recursive: true, mode: 0o700});
	const building = mkdtempSync(join(root, `.fleet-${count}-`));
	try {
		const controllerHome = join(building, 'controller');
		await initControllerHome(controllerHome, new Date());
		mkdirSync(join(building, 'agents'));
		const names = Array.from({length: count}, (_, index) => nameOf(index));
		const chunks = Array.from({length: Math.ceil(count / namesPerWorker)}, (_, index) => names.slice(index * namesPerWorker, (index + 1) * namesPerWorker));
		log(`minting ${count} agents (once: they are kept in ${root}) in ${Math.min(cpus().length, chunks.length)} worker processes`);
		const minted = await mapLimited(chunks, cpus().length, async (chunk, index) => {
			const input = {controllerHome, directory: join(building, 'agents'), names: chunk};
			const hosts = await startHosts('mint-host.ts', [input], building, {name: `mint-${index}`});
			await hosts.stop();
			return JSON.parse(readFileSync(join(building, `mint-${index}-0.json.out`), 'utf8')) as MintedAgent[];
		});
		writeFileSync(join(building, 'agents.json'), JSON.stringify(minted.flat()));
		const target = join(root, `fleet-${count}`);
		if (!opened(target, count)) {
			// An expired fleet of this size goes; a complete one another bench just renamed into place stays.
			rmSync(target, {recursive: true, force: true});
			try {
				renameSync(building, target);
			} catch {
				// Another bench renamed its fleet of this size into place first: that one is used.
			}
		}

		return {...opened(target, count)!, minted: true};
	} finally {
		rmSync(building, {recursive: true, force: true});
	}
}
