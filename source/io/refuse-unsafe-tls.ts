import {XiError} from '../errors.js';

/**
 * Both executables refuse to start when NODE_TLS_REJECT_UNAUTHORIZED=0 is set: it would turn off
 * certificate verification for every TLS client in the process, our dispatcher included.
 */
export function refuseUnsafeTlsEnvironment(env: NodeJS.ProcessEnv): void {
	const value = env['NODE_TLS_REJECT_UNAUTHORIZED'];
	if (value !== undefined && value !== '1') {
		throw new XiError('UNSAFE_ENVIRONMENT', `NODE_TLS_REJECT_UNAUTHORIZED=${value} is set, which turns off TLS certificate checks; unset it and try again.`);
	}
}
