// A progress bar for fleet work on stderr: redrawn in place on a terminal, one line per step
// otherwise (CI logs, pipes), and nothing under --json.
import type { Ctx } from './context.js';

export interface Bar { step(done: number, total: number, note?: string): void; end(): void }

export function progressBar(ctx: Ctx, what: string): Bar {
  const tty = process.stderr.isTTY === true && !ctx.json;
  let drawn = false;
  return {
    step(done, total, note) {
      if (ctx.json) return;
      const width = 30;
      const fill = total === 0 ? width : Math.round((done / total) * width);
      const line = `${what} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total}${note ? `  ${note}` : ''}`;
      if (tty) { process.stderr.write(`\r\x1b[2K${line}`); drawn = true; } else ctx.say(line);
    },
    end() { if (drawn) process.stderr.write('\n'); },
  };
}
