// Launching Debian's Chromium (never a downloaded browser) headless, with or without WebGPU.
// SwiftShader provides WebGPU without a GPU once --enable-unsafe-webgpu is given.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

const QUIET = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export async function launch({ webgpu }) {
  // Playwright gives every launch a fresh, empty profile of its own.
  const args = [...QUIET];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// One panel of the page (the section labelled by heading `id`), for the README.
export async function panelShot(page, id, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const panel = page.locator(`section[aria-labelledby="${id}"]`);
  await panel.scrollIntoViewIfNeeded();
  await panel.screenshot({ path: join(SCREENSHOTS, `panel-${name}.png`) });
}
