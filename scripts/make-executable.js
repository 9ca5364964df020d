// Marks the two built entry points executable, so `npm install` leaves `xi-exec` and
// `xi-exec-agent` runnable straight from dist/ (npm links bins, but a clone runs them directly too).
import {chmodSync} from 'node:fs';

for (const file of ['dist/source/cli.cjs', 'dist/source/cli.js', 'dist/agent/cli.js', 'dist/agent/hooks/local-policy.js']) {
	chmodSync(file, 0o755);
}
