/**
 * Makes what the deployment tests use and cannot make within ava's wait for a test: the release
 * (`npm run dist`, unless it is newer than its sources) and the cached Debian root (debootstrap).
 * Run by .ci/run before `npm test`; run it by hand before `npx ava test/deploy/`. Where a tool is
 * missing it says so and leaves the tests to skip with the same reason.
 */
import {buildRelease} from './release.js';
import {cachedDebianRoot, missingFor} from './debian-root.js';

buildRelease();
const missing = missingFor(['debootstrap', 'chroot']);
if (missing) {
	process.stdout.write(`deploy tests: no Debian root: ${missing}\n`);
} else {
	process.stdout.write(`deploy tests: Debian root in ${await cachedDebianRoot()}\n`);
}
