// Launching Debian's Chromium headless, with or without WebGPU (flags in chromium.mjs), and
// screenshots of the page or of one panel.
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from './chromium.mjs';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

// Chromium's fake camera: a moving test pattern, granted without a permission prompt.
export const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

// `args`: flags added to the usual ones (FAKE_CAMERA, say).
export async function launch({ webgpu, args = [] }) {
  // Playwright gives every launch a fresh, empty profile of its own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...chromiumArgs({ webgpu }), ...args] });
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
