// The only writer of the runner's stdout: every event becomes one nonce-marked frame. Anything
// else (diagnostics, a tool's or a model's raw output) must go to stderr or inside a frame.
import { encodeFrame, type RunnerEvent } from './protocol.js';

export type Emit = (event: RunnerEvent) => void;
/** Several frames in one write: they reach the host together (each write is one more chunk through the container's output stream). */
export type EmitMany = (events: readonly RunnerEvent[]) => void;

/** `write` is the real stdout (main.ts sends every other stdout write to stderr). */
export function frameWriter(nonce: string, write: (s: string) => void): Emit {
  return (event) => write(encodeFrame(nonce, event));
}

export function framesWriter(nonce: string, write: (s: string) => void): EmitMany {
  return (events) => write(events.map((e) => encodeFrame(nonce, e)).join(''));
}

/** Diagnostics for whoever reads the container's stderr; never secrets, never frames. */
export function log(message: string): void {
  process.stderr.write(`clawpod-agent: ${message}\n`);
}

/** Removes secrets from text that leaves the runner (a provider may echo a key in its error). */
export function redactor(secrets: readonly (string | undefined)[]): (s: string) => string {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return (s) => list.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
}
