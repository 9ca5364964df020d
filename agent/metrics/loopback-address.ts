/**
 * The metrics listener's address: a loopback literal only, since it has no TLS and no token. Pure.
 */
import {BlockList, isIPv4, isIPv6} from 'node:net';
import {parseHostPort, type HostPort} from '../../source/io/address.js';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** `127.0.0.0/8` or `::1`, as a literal (a name could resolve to anything); else why not. Pure. */
export function parseLoopbackAddress(text: string): HostPort | string {
	const parsed = parseHostPort(text);
	if (typeof parsed === 'string') {
		return `${parsed}; for example "127.0.0.1:9464"`;
	}

	const family = isIPv4(parsed.host) ? 'ipv4' : (isIPv6(parsed.host) ? 'ipv6' : undefined);
	if (!family || !loopback.check(parsed.host, family)) {
		return `${JSON.stringify(text)} is not a loopback address: the metrics listener has no TLS and no token, so it listens only on 127.0.0.1 (or another 127.x.y.z) or [::1]`;
	}

	return parsed;
}
