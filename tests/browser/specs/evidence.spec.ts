// Evidence from the claim page: a file chosen with the file input, a file
// dropped on the drop zone, and a disguised page refused in words.
import { test, expect, signIn, Api } from '../fixtures';
import type { Page } from '@playwright/test';

// A 1 × 1 PNG, complete with its end marker.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

async function evidenceOf(api: Api, id: string): Promise<Array<{ file?: { fileName: string } }>> {
  const data = await api.gql(await api.token('admin'), 'query($id: ID!) { claim(id: $id) { evidence { file { fileName } } } }', { id });
  return data.claim.evidence;
}

/** Drops a file on the drop zone as a browser does when one is dragged in. */
async function dropFile(page: Page, name: string, type: string, bytes: Buffer) {
  const zone = page.locator('.drop-zone');
  await zone.evaluate(
    (el, { name, type, data }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(data)], name, { type }));
      el.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name, type, data: [...bytes] },
  );
}

test('a support agent adds evidence by file input and by drag and drop; previews appear', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '15.00' });
  const { id } = await api.claim(order.id);
  await signIn(page, 'support-agent', `#/claims/${id}`);
  await expect(page.getByRole('heading', { name: `Claim for order ${order.number}`, exact: true })).toBeVisible();
  await expect(page.getByText('No evidence yet.')).toBeVisible();

  await page.getByLabel('Add evidence file').setInputFiles({ name: 'chosen.png', mimeType: 'image/png', buffer: PNG });
  const chosen = page.getByRole('img', { name: 'chosen.png' });
  await expect(chosen).toBeVisible();
  await expect.poll(() => chosen.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(1);

  await dropFile(page, 'dropped.png', 'image/png', PNG);
  await expect(page.getByRole('img', { name: 'dropped.png' })).toBeVisible();

  const names = (await evidenceOf(api, id)).map((e) => e.file?.fileName).sort();
  expect(names).toEqual(['chosen.png', 'dropped.png']);
});

test('a page disguised as an image is refused with the reason in words and nothing is added', async ({ page, api }) => {
  const order = await api.paidOrder({ total: '15.00' });
  const { id } = await api.claim(order.id);
  await signIn(page, 'support-agent', `#/claims/${id}`);
  await expect(page.getByText('No evidence yet.')).toBeVisible();

  await dropFile(page, 'invoice.png', 'image/png', Buffer.from('<html><script>alert(1)</script></html>'));
  const alert = page.getByRole('alert').filter({ hasText: /.+/ });
  await expect(alert).toBeVisible();
  await expect(alert).not.toContainText('BAD_USER_INPUT');
  await expect(page.getByText('No evidence yet.')).toBeVisible();
  expect(await evidenceOf(api, id)).toEqual([]);
});
