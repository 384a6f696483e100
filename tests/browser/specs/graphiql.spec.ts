// GraphiQL at GET /graphql (a browser asks for text/html): it loads with no
// request leaving 127.0.0.1 (the fixtures' guard) and runs a query.
import { test, expect, signIn, sessionToken } from '../fixtures';

test('GraphiQL loads offline and runs { __typename }', async ({ page }) => {
  const response = await page.goto('/graphql');
  expect(response!.status()).toBe(200);
  expect(response!.headers()['content-type']).toMatch(/^text\/html/);

  const editor = page.locator('.graphiql-query-editor').first();
  await expect(editor).toBeVisible();
  // Replace whatever the editor starts with.
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText('{ __typename }');
  // GraphiQL reads the operation name from the edited text a moment later
  // (the tab is named after it); running before that sends the old name.
  await expect(page.locator('.graphiql-tabs')).toContainText('<untitled>');

  await page.getByRole('button', { name: /^Execute query/i }).click();
  const result = page.locator('.graphiql-response, .result-window').first();
  await expect(result).toContainText('"__typename"');
  await expect(result).toContainText('"Query"');
});

test('GraphiQL opened in a signed-in tab uses the token but never writes it to localStorage', async ({ page }) => {
  await signIn(page, 'admin');
  const token = await sessionToken(page);
  await page.goto('/graphql');
  await expect(page.locator('.graphiql-query-editor').first()).toBeVisible();
  // The default query asks who is signed in: the console's token is used.
  await page.getByRole('button', { name: /^Execute query/i }).click();
  await expect(page.locator('.graphiql-response, .result-window').first()).toContainText('Demo admin');
  // GraphiQL saves its tabs and history (in either storage); once it has, nothing in localStorage holds the token.
  await expect
    .poll(() => page.evaluate(() => (localStorage.getItem('graphiql:tabState') ?? sessionStorage.getItem('graphiql:tabState') ?? '').includes('me')))
    .toBe(true);
  const local = await page.evaluate(() => Object.entries(localStorage).map(([k, v]) => `${k}=${v}`));
  expect(local.filter((e) => e.includes(token) || /eyJ[\w-]+\.[\w-]+\./.test(e)), 'localStorage entries holding a token').toEqual([]);
});
