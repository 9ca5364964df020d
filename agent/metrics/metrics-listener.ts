/**
 * The agent's metrics listener: plain HTTP on a loopback address only (config.json
 * `"metrics": "127.0.0.1:9464"`), answering `GET /metrics` in Prometheus text format and nothing
 * else. Opt-in, and never on the fleet port: a scraper on the same host (node_exporter's
 * neighbour, a local Prometheus agent) reads it without a fleet certificate, and nothing off the
 * host can reach it. No TLS and no token, because the address cannot be anything but loopback.
 */
import {createServer, type Server} from 'node:http';
import type {HostPort} from '../../source/io/address.js';
import type {AgentMetrics} from './agent-metrics.js';

export type MetricsListener = {server: Server; address: () => HostPort; close: () => Promise<void>};

export async function listenForMetrics(address: HostPort, metrics: AgentMetrics): Promise<MetricsListener> {
	const server = createServer((request, response) => {
		const path = (request.url ?? '').split('?')[0];
		if (path !== '/metrics') {
			response.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('Only /metrics is here.\n');
			return;
		}

		if (request.method !== 'GET' && request.method !== 'HEAD') {
			response.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8'}).end('GET /metrics only.\n');
			return;
		}

		metrics.text().then(text => {
			response.writeHead(200, {'content-type': metrics.registry.contentType}).end(request.method === 'HEAD' ? undefined : text);
		}, (error: unknown) => {
			response.writeHead(500, {'content-type': 'text/plain; charset=utf-8'}).end(`The metrics could not be collected: ${(error as Error).message}\n`);
		});
	});
	server.requestTimeout = 10_000;
	server.headersTimeout = 5000;
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(address.port, address.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	return {
		server,
		address() {
			const bound = server.address();
			return typeof bound === 'object' && bound ? {host: bound.address, port: bound.port} : address;
		},
		close: async () => new Promise<void>(resolve => {
			server.close(() => resolve());
			server.closeAllConnections();
		}),
	};
}
