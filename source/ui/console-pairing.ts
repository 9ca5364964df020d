/**
 * The console's pairing listener (the pairing screen's `p`): the core's pairing session, as
 * `xi-exec pair` opens it: every attempt audited, a relay agent's broker user written once paired.
 */
import type {ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {openPairingSession} from '../core/pairing-session.js';
import type {PairingEvent} from '../pairing/listener.js';
import type {RegistryStore} from '../registry/store.js';
import type {PairingHandle} from './core.js';

export async function openConsolePairing(paths: ControllerPaths, registry: RegistryStore, listen: HostPort, onEvent: (event: PairingEvent) => void): Promise<PairingHandle> {
	const session = await openPairingSession(paths, {listen, registry, replace: false, timeoutMs: 5 * 60 * 1000, onEvent});
	return {address: session.address, approve: session.approve, reject: session.reject, close: session.close};
}
