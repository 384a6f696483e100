// Shared fixtures: the server's address, a guard on every browser context
// (no request or WebSocket may leave 127.0.0.1, no console error, no uncaught
// exception, no CSP violation), a GraphQL client for setting up data through
// the public API, and helpers that act the way a person would.
import { test as base, expect, Browser, BrowserContext, Page, APIRequestContext, Locator } from '@playwright/test';
import { AxeBuilder } from '@axe-core/playwright';
import * as fs from 'node:fs';
import * as path from 'node:path';

export { expect };

export const PASSWORD = 'refund-desk-demo';
export type DemoRole = 'admin' | 'refund-manager' | 'finance' | 'support-agent' | 'analyst';
export const demoEmail = (role: DemoRole) => `${role}@demo.refund-desk.test`;
export const ARTIFACTS = path.join(__dirname, 'artifacts');

// ---------------------------------------------------------------- guards

function allowedUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (['data:', 'blob:', 'about:'].includes(url.protocol)) return true;
  return url.hostname === '127.0.0.1';
}

/** Records, on `problems`, everything that must fail the test; blocks outside traffic. */
export async function guardContext(context: BrowserContext, problems: string[]): Promise<void> {
  context.on('request', (req) => {
    if (!allowedUrl(req.url())) problems.push(`request left 127.0.0.1: ${req.method()} ${req.url()}`);
  });
  // Block it too, so a leak cannot make a test pass by loading something.
  await context.route((url) => !allowedUrl(url.href), (route) => route.abort('blockedbyclient'));
  await context.routeWebSocket(
    (url) => !allowedUrl(url.href.replace(/^ws/, 'http')),
    (ws) => {
      problems.push(`WebSocket left 127.0.0.1: ${ws.url()}`);
      ws.close();
    },
  );
  const watchPage = (page: Page) => {
    page.on('websocket', (ws) => {
      if (!allowedUrl(ws.url().replace(/^ws/, 'http'))) problems.push(`WebSocket left 127.0.0.1: ${ws.url()}`);
    });
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  context.on('console', (msg) => {
    if (msg.type() === 'error') {
      const where = msg.location()?.url ? ` (${msg.location().url}:${msg.location().lineNumber})` : '';
      problems.push(`console error: ${msg.text()}${where}`);
    }
  });
  context.on('weberror', (err) => problems.push(`uncaught exception: ${err.error().stack ?? err.error().message}`));
  // Chromium also logs CSP violations as console errors; the event names the directive.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
}

// ---------------------------------------------------------------- GraphQL client

export class GraphQLError extends Error {
  constructor(public readonly errors: Array<{ message: string; extensions?: { code?: string } }>) {
    super(errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

const tokenCache = new Map<string, string>();

export class Api {
  constructor(private readonly request: APIRequestContext, private readonly baseURL: string) {}

  async raw(query: string, variables: Record<string, unknown> = {}, token?: string) {
    const res = await this.request.post(`${this.baseURL}/graphql`, {
      data: { query, variables },
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    expect(res.status(), `POST /graphql answered ${res.status()}: ${await res.text()}`).toBe(200);
    return (await res.json()) as { data?: any; errors?: GraphQLError['errors'] };
  }

  async gql<T = any>(token: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const body = await this.raw(query, variables, token);
    if (body.errors?.length) throw new GraphQLError(body.errors);
    return body.data as T;
  }

  async login(email: string, password = PASSWORD): Promise<string> {
    const cached = tokenCache.get(email);
    if (cached) return cached;
    const data = await this.gql(undefined, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
    tokenCache.set(email, data.login.token);
    return data.login.token;
  }

  token(role: DemoRole): Promise<string> {
    return this.login(demoEmail(role));
  }

  async staffId(role: DemoRole): Promise<string> {
    return (await this.gql(await this.token(role), '{ me { id } }')).me.id;
  }

  /** A PAID order with no activation: a claim on it is FULL_REFUND with the whole total suggested. */
  async paidOrder(opts: { total?: string; currency?: string; customerEmail?: string; customerName?: string; number?: string } = {}) {
    const number = opts.number ?? uniqueNumber('BT');
    const placed = new Date(Date.now() - 2 * 3600_000).toISOString();
    const data = await this.gql(
      await this.token('support-agent'),
      `mutation($input: CreateOrderInput!) { createOrder(input: $input) { id number total { amount currency } } }`,
      {
        input: {
          number,
          customerEmail: opts.customerEmail ?? `${number.toLowerCase()}@customers.test`,
          customerName: opts.customerName ?? `Customer ${number}`,
          planMonths: 3,
          devices: 1,
          total: { amount: opts.total ?? '24.90', currency: opts.currency ?? 'EUR' },
          paymentMethod: 'CARD',
          placedAt: placed,
          paidAt: placed,
        },
      },
    );
    return data.createOrder as { id: string; number: string; total: { amount: string; currency: string } };
  }

  /** A claim logged by the demo support agent (so any manager may decide it). */
  async claim(orderId: string, opts: { reason?: string; description?: string; requested?: { amount: string; currency: string }; by?: DemoRole } = {}) {
    const data = await this.gql(
      await this.token(opts.by ?? 'support-agent'),
      `mutation($input: SubmitClaimInput!) { submitClaim(input: $input) { id status version order { number } } }`,
      {
        input: {
          orderId,
          reason: opts.reason ?? 'NOT_DELIVERED',
          description: opts.description ?? 'The customer never received the access details.',
          channel: 'EMAIL',
          ...(opts.requested ? { requestedAmount: opts.requested } : {}),
        },
      },
    );
    return data.submitClaim as { id: string; status: string; version: number; order: { number: string } };
  }

  /** addClaimEvidence with a file, as a GraphQL multipart request. */
  async uploadEvidence(token: string, claimId: string, fileName: string, mimeType: string, buffer: Buffer) {
    const res = await this.request.post(`${this.baseURL}/graphql`, {
      headers: { authorization: `Bearer ${token}` },
      multipart: {
        operations: JSON.stringify({
          query: 'mutation($c: ID!, $input: EvidenceInput!) { addClaimEvidence(claimId: $c, input: $input) { id } }',
          variables: { c: claimId, input: { kind: 'SCREENSHOT', file: null } },
        }),
        // Not "0": integer-like keys would be enumerated (and sent) first.
        map: JSON.stringify({ file: ['variables.input.file'] }),
        file: { name: fileName, mimeType, buffer },
      },
    });
    const body = await res.json();
    if (body.errors?.length) throw new GraphQLError(body.errors);
    return body.data;
  }

  async claimById(id: string, token?: string) {
    const data = await this.gql(
      token ?? (await this.token('admin')),
      `query($id: ID!) { claim(id: $id) { id status version requestedAmount { amount currency } approvedAmount { amount currency }
        eligibility { outcome rule suggestedAmount { amount currency } }
        assignee { id } payouts { id status externalReference amount { amount currency } } } }`,
      { id },
    );
    return data.claim;
  }
}

let counter = 0;
/** An order number no other test (or earlier run on the same server) uses. */
export function uniqueNumber(prefix: string): string {
  counter += 1;
  const rand = Math.random().toString(36).slice(2, 6).toUpperCase();
  return `${prefix}-${Date.now().toString(36).toUpperCase()}-${process.pid % 1000}${counter}${rand}`;
}

// ---------------------------------------------------------------- fixtures

type Fixtures = {
  problems: string[];
  api: Api;
  /** Another guarded browser context (another person), closed after the test. */
  newContext: () => Promise<BrowserContext>;
};

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.REFUND_DESK_URL;
    if (!url) throw new Error('REFUND_DESK_URL is not set: global-setup.ts did not start the server');
    await use(url);
  },
  problems: async ({}, use, testInfo) => {
    const problems: string[] = [];
    await use(problems);
    if (problems.length) {
      await testInfo.attach('browser-problems', { body: problems.join('\n'), contentType: 'text/plain' });
    }
    // Fails the test when anything was recorded (also after a passing body).
    expect(problems, 'requests outside 127.0.0.1, console errors, uncaught exceptions or CSP violations').toEqual([]);
  },
  context: async ({ context, problems }, use) => {
    await guardContext(context, problems);
    await use(context);
  },
  newContext: async ({ browser, baseURL, problems }, use) => {
    const opened: BrowserContext[] = [];
    await use(async () => {
      const ctx = await newGuardedContext(browser, baseURL!, problems);
      opened.push(ctx);
      return ctx;
    });
    for (const ctx of opened) await ctx.close();
  },
  api: async ({ playwright, baseURL }, use) => {
    const request = await playwright.request.newContext();
    await use(new Api(request, baseURL!));
    await request.dispose();
  },
});

export async function newGuardedContext(browser: Browser, baseURL: string, problems: string[]): Promise<BrowserContext> {
  const ctx = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC' });
  await guardContext(ctx, problems);
  return ctx;
}

// ---------------------------------------------------------------- acting like a person

export const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

/** Signs in through the form at #/sign-in and waits for the signed-in header. */
export async function signIn(page: Page, role: DemoRole | { email: string; password?: string }, route = '#/claims') {
  const email = typeof role === 'string' ? demoEmail(role) : role.email;
  const password = typeof role === 'string' ? PASSWORD : role.password ?? PASSWORD;
  await page.goto(`/console/${route}`);
  await expect(page).toHaveURL(/#\/sign-in/);
  await fillSignIn(page, email, password);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

export async function fillSignIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The JWT the console keeps in sessionStorage (whatever its key). */
export async function sessionToken(page: Page): Promise<string> {
  const token = await page.evaluate(() => {
    const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
    for (let i = 0; i < sessionStorage.length; i++) {
      const m = jwt.exec(sessionStorage.getItem(sessionStorage.key(i)!) ?? '');
      if (m) return m[0];
    }
    return null;
  });
  expect(token, 'a JWT in sessionStorage').toBeTruthy();
  return token!;
}

/** The claims-queue row whose first cell links to the order number. */
export function queueRow(page: Page, orderNumber: string): Locator {
  return page
    .getByRole('table', { name: 'Claims queue' })
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: orderNumber, exact: true }) });
}

/**
 * Chooses an option of a <select> by the API's enum value: the option whose
 * value is the enum, or whose label reads as it ("Under review" = UNDER_REVIEW).
 */
export async function selectEnum(select: Locator, enumValue: string) {
  const options = await select.locator('option').evaluateAll((opts) =>
    opts.map((o) => ({ value: (o as HTMLOptionElement).value, label: (o.textContent ?? '').trim() })),
  );
  const norm = (s: string) => s.trim().toUpperCase().replace(/[\s-]+/g, '_');
  const hit = options.find((o) => o.value === enumValue) ?? options.find((o) => norm(o.label) === enumValue);
  expect(hit, `an option for ${enumValue} among ${JSON.stringify(options)}`).toBeTruthy();
  await select.selectOption({ value: hit!.value });
}

/** "AWAITING_SECOND_APPROVAL" -> /awaiting second approval/i */
export function statusText(enumValue: string): RegExp {
  return new RegExp(`^\\s*${enumValue.toLowerCase().replace(/_/g, '[ _]')}\\s*$`, 'i');
}

// ---------------------------------------------------------------- artifacts and accessibility

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Fails on any axe violation of impact serious or critical, naming rule, impact and targets. */
export async function expectAccessible(page: Page, label: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad
    .map((v) => `${v.id} [${v.impact}] ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}${n.failureSummary ? `: ${n.failureSummary.replace(/\n/g, ' ')}` : ''}`).join('\n')}`)
    .join('\n');
  expect(bad.length, `axe (serious/critical) on ${label}:\n${report}`).toBe(0);
}
