// Progress on the terminal while a benchmark runs: one line rewritten in place on a TTY, a
// line every few seconds (and on every phase change) otherwise.

export class Progress {
  private readonly tty = process.stdout.isTTY === true;
  private lastLine = '';
  private lastPrint = 0;
  private readonly started = Date.now();

  private stamp(): string {
    const s = Math.round((Date.now() - this.started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }

  /** A transient status (phase, live rate). */
  status(text: string, important = false): void {
    const line = `[${this.stamp()}] ${text}`;
    if (this.tty) {
      const width = process.stdout.columns ?? 120;
      process.stdout.write(`\r${line.slice(0, width - 1).padEnd(Math.min(this.lastLine.length, width - 1))}`);
      this.lastLine = line;
      return;
    }
    const now = Date.now();
    if (important || now - this.lastPrint >= 3000) {
      process.stdout.write(line + '\n');
      this.lastPrint = now;
    }
  }

  /** A permanent line (a finished step). */
  log(text: string): void {
    if (this.tty && this.lastLine) {
      process.stdout.write(`\r${' '.repeat(Math.min(this.lastLine.length, (process.stdout.columns ?? 120) - 1))}\r`);
      this.lastLine = '';
    }
    process.stdout.write(`[${this.stamp()}] ${text}\n`);
  }
}
