import { formatBytes, formatMs } from '../core/primitives/human.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/**
 * Progress on stderr for long operations (DESIGN §10): only when stderr is a terminal and the
 * command is not printing --json, so scripts see nothing extra. Counts bytes (with a rate, and
 * a percentage when the total is known) or just time; the line is cleared when done.
 */
export class Progress {
  private done = 0
  private frame = 0
  private readonly started = Date.now()
  private timer?: NodeJS.Timeout
  private lastDraw = 0

  private constructor(
    private label: string,
    private total: number | undefined,
    private readonly bytes: boolean,
    private readonly enabled: boolean,
  ) {
    if (!enabled) return
    this.draw()
    this.timer = setInterval(() => this.draw(), 100)
    this.timer.unref()
  }

  /** Bytes moved, with a rate (and a percentage of `total` when given). */
  static bytes(label: string, enabled: boolean, total?: number): Progress {
    return new Progress(label, total, true, enabled && Boolean(process.stderr.isTTY))
  }

  /** A spinner with the time spent. */
  static spinner(label: string, enabled: boolean): Progress {
    return new Progress(label, undefined, false, enabled && Boolean(process.stderr.isTTY))
  }

  add(n: number): void {
    this.done += n
    if (this.enabled && Date.now() - this.lastDraw >= 100) this.draw()
  }

  /** The total moved so far, and the whole when it becomes known (a download reports both as it goes). */
  set(n: number, total?: number): void {
    this.total ??= total
    this.add(n - this.done)
  }

  say(label: string): void {
    this.label = label
    if (this.enabled) this.draw()
  }

  finish(): void {
    if (!this.enabled) return
    clearInterval(this.timer)
    this.draw()
    process.stderr.write('\r\u001B[2K')
  }

  private draw(): void {
    this.lastDraw = Date.now()
    const elapsed = Date.now() - this.started
    let text = `${FRAMES[this.frame++ % FRAMES.length]} ${this.label}`
    if (this.bytes) {
      const rate = elapsed > 0 ? (this.done / elapsed) * 1000 : 0
      text += `  ${formatBytes(this.done)}${this.total ? ` / ${formatBytes(this.total)} (${Math.floor((this.done / this.total) * 100)}%)` : ''}  ${formatBytes(Math.round(rate))}/s`
    } else {
      text += `  ${formatMs(elapsed)}`
    }
    const width = process.stderr.columns || 80
    process.stderr.write(`\r\u001B[2K${text.slice(0, width - 1)}`)
  }
}

/** Runs `work` with a spinner (see Progress.spinner). */
export async function withSpinner<T>(label: string, enabled: boolean, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress = Progress.spinner(label, enabled)
  try {
    return await work(progress)
  } finally {
    progress.finish()
  }
}
