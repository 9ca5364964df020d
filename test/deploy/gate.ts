/** ava's `test` when nothing is missing; otherwise `test.skip`, plus one test that prints why. */
import test, {type TestFn} from 'ava';

export function gate(title: string, reasons: Array<string | undefined>, serial = false): TestFn {
	const reason = reasons.find(Boolean);
	if (reason) {
		test(`${title}: skipped`, t => {
			t.log(`skipped: ${reason}`);
			t.pass();
		});
		return test.skip as unknown as TestFn;
	}

	return serial ? test.serial as unknown as TestFn : test;
}
