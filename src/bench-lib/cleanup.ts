// What a benchmark made, undone in reverse order exactly once: at its end, on a failure, or on
// Ctrl-C. A step that fails does not stop the others; what could not be removed is reported.
export class Cleanup {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];
  private done: Promise<string[]> | undefined;

  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step once (later calls wait for the first); resolves with what failed to be removed. */
  run(): Promise<string[]> {
    this.done ??= (async () => {
      const failed: string[] = [];
      for (const s of this.steps.reverse()) await s.undo().catch((e: unknown) => { failed.push(`${s.what}: ${(e as Error)?.message ?? e}`); });
      return failed;
    })();
    return this.done;
  }
}
