// Drag and drop: pictures dropped on a class card join that class (thumbnails included); an
// unreadable file among them is named and skipped; the other class is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp } from '../lib/page.mjs';
import { png } from '../lib/png.mjs';

// A DataTransfer in the page holding `files` ({ name, type, base64 }), as a drop delivers it.
function dataTransfer(page, files) {
  return page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return dt;
  }, files);
}

test('pictures dropped on a class card join that class; a bad file is named', { timeout: 300_000 }, async () => {
  const app = await openApp({ webgpu: true });
  try {
    const { page } = app;
    await page.getByTestId('class-card').nth(1).waitFor();
    const picture = (seed) => png(30, 20, (x, y) => [(x * seed) % 256, (y * 7) % 256, 90]).toString('base64');
    const files = [
      { name: 'dropped-1.png', type: 'image/png', base64: picture(3) },
      { name: 'dropped-2.png', type: 'image/png', base64: picture(5) },
      { name: 'notes.txt', type: 'text/plain', base64: Buffer.from('not a picture').toString('base64') },
    ];
    const card = page.getByTestId('class-card').nth(1);
    const dt = await dataTransfer(page, files);
    await card.dispatchEvent('dragover', { dataTransfer: dt });
    await card.dispatchEvent('drop', { dataTransfer: dt });
    await page.locator('[data-testid="class-count"][data-count="2"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('class-count').nth(1).getAttribute('data-count'), '2');
    assert.equal(await page.getByTestId('class-count').nth(0).getAttribute('data-count'), '0');
    assert.equal(await card.locator('[data-testid="thumbs"] img').count(), 2);
    await page.getByTestId('data-errors').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('data-errors').innerText(), /notes\.txt/);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});
