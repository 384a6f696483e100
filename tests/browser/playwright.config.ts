import { defineConfig } from '@playwright/test';

// Debian's Chromium, never a browser downloaded by Playwright (the machines
// reach package registries only). CHROMIUM overrides the path.
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

export default defineConfig({
  testDir: './specs',
  // One server (started by global-setup.ts) for the whole run; every test
  // makes its own orders and claims, so tests never depend on each other.
  globalSetup: './global-setup.ts',
  outputDir: './test-results',
  workers: 2,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    // baseURL comes from the started server: see fixtures.ts.
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium,
      // As root in a container Chromium needs --no-sandbox; the other flags
      // keep it from reaching out to Google's services by itself.
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
