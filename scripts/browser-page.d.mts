// Types of scripts/browser-page.mjs (a plain script, run by node as it is).
export function browserPageScript(from: { core: string; io: string; constants?: string }): string;
export function runBrowserPage(chromium: string, dir: string, vector: Uint8Array, bundledScript: string): { result: string | undefined; status: number | null; stderr: string };
