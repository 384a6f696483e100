// Starts the real server once for the run: `refund-desk serve --demo` on a
// fresh SQLite database in a temporary folder, on a port the OS chooses.
// Tests read its address from REFUND_DESK_URL (fixtures.ts); the returned
// function stops it when the run ends.
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const STARTUP_TIMEOUT_MS = 240_000; // a debug build seeds ~2,000 demo orders first

function serverBinary(): string {
  if (process.env.REFUND_DESK_BIN) return process.env.REFUND_DESK_BIN;
  // CARGO_TARGET_DIR, else the build cache .ci/run uses, else cargo's default.
  const targets = process.env.CARGO_TARGET_DIR
    ? [process.env.CARGO_TARGET_DIR]
    : ['/var/cache/refund-desk/target', path.resolve(__dirname, '../../target')];
  const bins = targets.map((t) => path.join(t, 'debug', 'refund-desk'));
  return bins.find((b) => fs.existsSync(b)) ?? bins[0];
}

/** The port in "Console: http://127.0.0.1:PORT/console/" or "Playground: http://127.0.0.1:PORT/graphql". */
export function parsePort(line: string): number | undefined {
  const m = /^\s*(?:Console|Playground|GraphiQL)\b[^\n]*?https?:\/\/[^\s/:]+:(\d{1,5})\//.exec(line);
  return m ? Number(m[1]) : undefined;
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = serverBinary();
  if (!fs.existsSync(bin)) {
    throw new Error(`server binary not found: ${bin} (build it with \`cargo build -p api\` or set REFUND_DESK_BIN)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refund-desk-browser-'));
  const artifacts = path.join(__dirname, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const log = fs.createWriteStream(path.join(artifacts, 'server.log'));

  const child: ChildProcess = spawn(bin, ['serve', '--demo'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      DATABASE_URL: `sqlite://${dir}/db.sqlite?mode=rwc`,
      BIND: '127.0.0.1:0',
      JWT_SECRET: randomBytes(32).toString('hex'),
      CREDENTIALS_KEY: randomBytes(32).toString('hex'),
      EVIDENCE_STORE: `file://${dir}/evidence`,
      LOG_FORMAT: 'pretty',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      NO_COLOR: '1',
    },
  });
  child.stderr!.pipe(log, { end: false });

  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`the server printed no Console/Playground address within ${STARTUP_TIMEOUT_MS / 1000} s (see artifacts/server.log)`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const p = parsePort(line);
        if (p) {
          clearTimeout(timer);
          resolve(p);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited during start-up (code ${code}, signal ${signal}); see artifacts/server.log`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });

  const url = `http://127.0.0.1:${port}`;
  process.env.REFUND_DESK_URL = url;
  process.env.REFUND_DESK_DATA_DIR = dir;
  // eslint-disable-next-line no-console
  console.log(`refund-desk serving at ${url} (data in ${dir})`);

  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
