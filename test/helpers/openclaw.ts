// Driving a real OpenClaw gateway from a test: its pinned image (built once from the host), what
// `clawpod run openclaw` prints, and a chat turn over its OpenAI-compatible endpoint.
import { expect } from 'vitest';
import { clawpod, podman, type CliResult } from './cli.js';

export const OPENCLAW_VERSION = '2026.9.6';
export const OPENCLAW_IMAGE = `localhost/clawpod-openclaw:${OPENCLAW_VERSION}`;

/** Builds the pinned image unless it is there (about 100 s cold). */
export async function ensureOpenclawImage(): Promise<void> {
  if (podman(['image', 'exists', OPENCLAW_IMAGE]).code === 0) return;
  const b = await clawpod(['image', 'build', '--profile', 'openclaw', '--version', OPENCLAW_VERSION], { timeoutMs: 1_200_000 });
  expect(b.code, b.stderr).toBe(0);
}

/** The host port and the once-shown gateway token a successful `clawpod run openclaw --name NAME` printed. */
export function started(name: string, r: CliResult): { port: number; token: string | undefined } {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const port = Number(/127\.0\.0\.1:(\d+)->18789/.exec(r.stdout)?.[1]);
  const token = new RegExp(`gateway token of ${name} \\(shown once[^)]*\\): (\\S+)`).exec(r.stdout)?.[1];
  return { port, token };
}

/** One chat turn through the gateway's /v1/chat/completions. */
export async function chatAt(port: number, token: string, text: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: text }] }), signal: AbortSignal.timeout(120_000),
  });
  return { status: res.status, body: await res.text() };
}
