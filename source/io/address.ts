/** `host:port` and `[v6]:port`, parsed with one clear error. Pure. */
export type HostPort = {host: string; port: number};

export function parseHostPort(text: string): HostPort | string {
	const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
	if (!match) {
		return `${JSON.stringify(text)} is not HOST:PORT`;
	}

	const port = Number(match[3]);
	if (port > 65_535) {
		return `port ${port} in ${JSON.stringify(text)} is out of range`;
	}

	return {host: match[1] ?? match[2]!, port};
}

export function formatHostPort({host, port}: HostPort): string {
	return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
