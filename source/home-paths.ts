/**
 * Where the controller's home is and what each of its files is called (home.ts says what they hold).
 * Apart from home.ts so that what reads only a path (the CLI's early dial) loads nothing else.
 */
import {homedir} from 'node:os';
import {join} from 'node:path';

export type ControllerPaths = ReturnType<typeof controllerPaths>;

export function controllerPaths(home: string) {
	return {
		home,
		caDirectory: join(home, 'ca'),
		caKey: join(home, 'ca', 'ca.key'),
		caCert: join(home, 'ca.pem'),
		controllerKey: join(home, 'controller.key'),
		controllerCert: join(home, 'controller.pem'),
		serverKey: join(home, 'server.key'),
		serverCert: join(home, 'server.pem'),
		auditKey: join(home, 'audit.key'),
		auditCert: join(home, 'audit.pem'),
		auditDirectory: join(home, 'audit'),
		auditLog: join(home, 'audit', 'controller.jsonl'),
		config: join(home, 'config.json'),
		registry: join(home, 'registry.json'),
		/** A controller certificate rotation in progress: the next key and certificate, and who has its serial. */
		nextControllerKey: join(home, 'controller.next.key'),
		nextControllerCert: join(home, 'controller.next.pem'),
		rotation: join(home, 'rotation.json'),
	};
}

export function resolveControllerHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
	return flag ?? env['XI_EXEC_HOME'] ?? join(homedir(), '.xi-exec');
}
