/**
 * A terminal screen for the console's bench and tests: applies what Ink writes (whole frames, or
 * incremental ones that rewrite only the lines that changed) to a grid of lines and tells the
 * text shown. It knows the sequences Ink's log-update and ansi-escapes send: cursor up (`CSI n A`),
 * next line (`CSI E`), to a column (`CSI n G`), home (`CSI H`), erase line (`CSI 2K`), erase to
 * the end of the line (`CSI K`), erase below (`CSI J`) and the screen (`CSI 2J`, `CSI 3J`); colours and cursor and
 * synchronized-output modes change no text. A line feed goes to the next line's start (a tty's
 * onlcr). One column a code point: the console's glyphs (box drawing, braille spinners, ✓ ✗) are
 * one column wide.
 */
const sequence = /\u001B\[([?\d;]*)([A-Za-z])|\u001B[78]/y;

export class Screen {
	private lines: string[][] = [[]];
	private row = 0;
	private column = 0;

	constructor(readonly rows: number) {}

	write(text: string): void {
		let index = 0;
		while (index < text.length) {
			if (text[index] === '\u001B') {
				sequence.lastIndex = index;
				const match = sequence.exec(text);
				if (match) {
					this.control(match[1] ?? '', match[2] ?? '');
					index = sequence.lastIndex;
					continue;
				}
			}

			const character = String.fromCodePoint(text.codePointAt(index)!);
			index += character.length;
			if (character === '\n') {
				this.moveTo(this.row + 1, 0);
			} else if (character === '\r') {
				this.column = 0;
			} else {
				this.line()[this.column] = character;
				this.column++;
			}
		}
	}

	/** The text on the screen, its trailing blanks and empty last lines left out. */
	text(): string {
		return this.lines.map(line => Array.from(line, cell => cell ?? ' ').join('').trimEnd()).join('\n').replace(/\n+$/, '');
	}

	private line(): string[] {
		while (this.lines.length <= this.row) {
			this.lines.push([]);
		}

		return this.lines[this.row]!;
	}

	private moveTo(row: number, column: number): void {
		this.row = Math.max(0, row);
		this.column = Math.max(0, column);
		// Past the last row the screen scrolls: the top line goes.
		while (this.row >= this.rows) {
			this.lines.shift();
			this.row--;
		}
	}

	private control(parameters: string, command: string): void {
		const count = Number.parseInt(parameters, 10);
		const n = Number.isNaN(count) ? 1 : count;
		switch (command) {
			case 'A': {
				this.moveTo(this.row - n, this.column);
				break;
			}

			case 'B': {
				this.moveTo(this.row + n, this.column);
				break;
			}

			case 'E': {
				this.moveTo(this.row + n, 0);
				break;
			}

			case 'G': {
				this.column = n - 1;
				break;
			}

			case 'H': {
				const [row = 1, column = 1] = parameters.split(';').map(part => Number.parseInt(part, 10) || 1);
				this.moveTo(row - 1, column - 1);
				break;
			}

			case 'K': {
				const line = this.line();
				if (parameters === '2') {
					line.length = 0;
				} else if (parameters === '' || parameters === '0') {
					line.length = Math.min(line.length, this.column);
				}

				break;
			}

			case 'J': {
				if (parameters === '2' || parameters === '3') {
					this.lines = [[]];
				} else if (parameters === '' || parameters === '0') {
					this.line().length = Math.min(this.line().length, this.column);
					this.lines.length = this.row + 1;
				}

				break;
			}

			default: {
				// Colours (m), cursor visibility and synchronized output (h, l): no text changes.
			}
		}
	}
}
