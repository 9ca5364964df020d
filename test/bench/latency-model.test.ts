/** The bench's latency-bound model (bench/latency-model.ts): the larger of the controller's CPU over its cores and the round-trip path, per wave. */
import test from 'ava';
import {latencyBound, type SideCost} from '../../bench/latency-model.js';

const base: SideCost = {hosts: 100, parallel: 100, roundTrips: 3, rttMs: 50, hostCpuMs: 20, controllerCpuMs: 500, controllerCores: 1};

const cases: Array<{name: string; cost: Partial<SideCost>; ms: number; bound: 'controller CPU' | 'round trips'}> = [
	{name: 'one wave, the controller\'s CPU on one core outweighs the path', cost: {}, ms: 500, bound: 'controller CPU'},
	{name: 'one wave, little controller CPU: the path (round trips + both ends\' CPU per host)', cost: {controllerCpuMs: 100}, ms: 150 + 20 + 1, bound: 'round trips'},
	{name: 'parallelism 32 on 100 hosts is 4 waves', cost: {parallel: 32, roundTrips: 10, hostCpuMs: 90, controllerCpuMs: 11_000, controllerCores: 2}, ms: 5500, bound: 'controller CPU'},
	{name: 'the same with 16 cores: the waves of round trips', cost: {parallel: 32, roundTrips: 10, hostCpuMs: 90, controllerCpuMs: 11_000, controllerCores: 16}, ms: 4 * (500 + 90 + 110), bound: 'round trips'},
	{name: 'parallelism above the hosts is one wave', cost: {parallel: 256, controllerCpuMs: 100}, ms: 171, bound: 'round trips'},
	{name: 'no cores or parallelism given counts as one', cost: {parallel: 0, controllerCores: 0, hosts: 2, controllerCpuMs: 10}, ms: 2 * (150 + 20 + 5), bound: 'round trips'},
];

for (const c of cases) {
	test(`latency model: ${c.name}`, t => {
		const modelled = latencyBound({...base, ...c.cost});
		t.is(Math.round(modelled.ms * 1000) / 1000, c.ms);
		t.is(modelled.bound, c.bound);
		t.is(modelled.ms, Math.max(modelled.cpuTermMs, modelled.pathTermMs));
	});
}
