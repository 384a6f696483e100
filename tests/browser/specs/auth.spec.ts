// Signing in and out, where the token lives, and what happens without a valid one.
import { test, expect, signIn, fillSignIn, nav, sessionToken, demoEmail, uniqueNumber, PASSWORD } from '../fixtures';

test('signs in with email and password and shows the header of the role', async ({ page }) => {
  await signIn(page, 'admin');
  await expect(page).toHaveURL(/#\/claims$/);
  await expect(page.getByRole('heading', { name: 'Claims', exact: true })).toBeVisible();
  const main = nav(page);
  for (const link of ['Claims', 'Payouts', 'Chargebacks', 'Reports', 'Staff', 'Webhooks', 'Inbound', 'Audit log']) {
    await expect(main.getByRole('link', { name: link, exact: true }), `admin's link ${link}`).toBeVisible();
  }
  await expect(page.getByText('Demo admin', { exact: true })).toBeVisible();
});

test('signing out returns to sign in and forgets the token', async ({ page, api }) => {
  // Sign out revokes every token of the person (logout): a person of its own,
  // so the other tests' demo sessions keep working.
  const person = { email: `${uniqueNumber('signout').toLowerCase()}@staff.test`, password: 'sign-out-password' };
  await api.gql(await api.token('admin'), 'mutation($input: CreateStaffInput!) { createStaff(input: $input) { id } }', {
    input: { email: person.email, name: 'Sign Out Tester', password: person.password, roles: ['ANALYST'] },
  });
  await signIn(page, person);
  await expect(page.getByText('Sign Out Tester', { exact: true })).toBeVisible();
  const token = await sessionToken(page);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/#\/sign-in/);
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  const left = await page.evaluate(() => JSON.stringify(sessionStorage));
  expect(/eyJ[\w-]+\./.test(left), `a token left in sessionStorage after signing out: ${left}`).toBe(false);
  // The old token is revoked on the server, not only forgotten by the tab.
  const after = await api.raw('{ me { id } }', {}, token);
  expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  // Going back to a page asks to sign in again.
  await page.goto('/console/#/claims');
  await expect(page).toHaveURL(/#\/sign-in\?next=/);
});

test('a wrong password shows an error and signs nobody in', async ({ page }) => {
  await page.goto('/console/#/sign-in');
  await fillSignIn(page, demoEmail('analyst'), 'not-the-password');
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('alert')).not.toBeEmpty();
  await expect(page).toHaveURL(/#\/sign-in/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
  const jwtInStorage = await page.evaluate(() => /eyJ/.test(JSON.stringify(sessionStorage)));
  expect(jwtInStorage).toBe(false);
});

test('the navigation shows only the pages a role may use', async ({ page, newContext }) => {
  await signIn(page, 'finance');
  const main = nav(page);
  for (const link of ['Claims', 'Payouts', 'Chargebacks', 'Reports']) {
    await expect(main.getByRole('link', { name: link, exact: true }), `finance's link ${link}`).toBeVisible();
  }
  for (const link of ['Staff', 'Webhooks', 'Inbound', 'Audit log']) {
    await expect(main.getByRole('link', { name: link, exact: true }), `finance has no ${link}`).toHaveCount(0);
  }
  await expect(page.getByText('Demo finance', { exact: true })).toBeVisible();

  const agent = await (await newContext()).newPage();
  await signIn(agent, 'support-agent');
  await expect(nav(agent).getByRole('link', { name: 'Claims', exact: true })).toBeVisible();
  for (const link of ['Payouts', 'Reports', 'Staff', 'Webhooks', 'Inbound', 'Audit log']) {
    await expect(nav(agent).getByRole('link', { name: link, exact: true }), `support agent has no ${link}`).toHaveCount(0);
  }
  await expect(agent.getByRole('link', { name: 'New claim', exact: true })).toBeVisible();
});

test('the token is kept in sessionStorage only: no cookie, no localStorage, not shared with a new tab', async ({ page, context, api }) => {
  await signIn(page, 'admin');
  const token = await sessionToken(page);
  // It is the real token: the API accepts it.
  const me = await api.gql(token, '{ me { email } }');
  expect(me.me.email).toBe(demoEmail('admin'));

  const cookies = await context.cookies();
  expect(cookies.filter((c) => c.value.includes(token) || /eyJ[\w-]+\./.test(c.value)), 'cookies holding a token').toEqual([]);
  const local = await page.evaluate(() => JSON.stringify(localStorage));
  expect(local.includes(token) || /eyJ[\w-]+\./.test(local), `localStorage holds a token: ${local}`).toBe(false);

  // sessionStorage belongs to the tab: another tab of the same browser is signed out.
  const other = await context.newPage();
  await other.goto('/console/#/claims');
  await expect(other).toHaveURL(/#\/sign-in/);
});

test('an unauthenticated visit goes to sign in and returns to the page afterwards', async ({ page }) => {
  await page.goto('/console/#/reports');
  await expect(page).toHaveURL(/#\/sign-in\?next=.*reports/);
  await fillSignIn(page, demoEmail('analyst'), PASSWORD);
  await expect(page).toHaveURL(/#\/reports$/);
  await expect(page.getByRole('heading', { name: 'Reports', exact: true })).toBeVisible();
});

test('UNAUTHENTICATED from the API (a token that no longer verifies) returns to sign in keeping the page', async ({ page }) => {
  await signIn(page, 'analyst');
  await expect(page.getByRole('heading', { name: 'Claims', exact: true })).toBeVisible();
  // Spoil the stored token's signature (whatever the key it is kept under).
  const spoiled = await page.evaluate(() => {
    const jwt = /(eyJ[\w-]+\.[\w-]+\.)([\w-]+)/;
    let n = 0;
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i)!;
      const value = sessionStorage.getItem(key)!;
      if (jwt.test(value)) {
        sessionStorage.setItem(key, value.replace(jwt, (_m, head, sig) => head + (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1)));
        n += 1;
      }
    }
    return n;
  });
  expect(spoiled, 'tokens found in sessionStorage').toBeGreaterThan(0);
  await page.evaluate(() => {
    location.hash = '#/reports';
  });
  await expect(page).toHaveURL(/#\/sign-in\?next=.*reports/);
  await fillSignIn(page, demoEmail('analyst'), PASSWORD);
  await expect(page).toHaveURL(/#\/reports$/);
  await expect(page.getByRole('heading', { name: 'Reports', exact: true })).toBeVisible();
});
