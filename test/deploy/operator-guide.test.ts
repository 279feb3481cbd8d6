/**
 * docs/operator-guide.md stays true: one troubleshooting section per reason code in SPEC order, its
 * mandate commands are the README's, the example decisions it shows are what `mandate check` answers
 * today, and the files, variables, ports and headers it names exist.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCheckCommand } from '../../src/cli/check.js';
import { runValidateCommand } from '../../src/cli/validate.js';
import { SERVE_OPTIONS } from '../../src/config/options.js';
import { REASON_CODES } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUIDE = fs.readFileSync(path.join(ROOT, 'docs/operator-guide.md'), 'utf8');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const CHECK = /^npx mandate check --policies examples\/policies --request (examples\/requests\/[\w.-]+\.json)$/;

interface Command {
  readonly line: string;
  /** The `### CODE` section it appears under, if any. */
  readonly section: string | null;
}

function shellCommands(markdown: string): Command[] {
  const out: Command[] = [];
  let section: string | null = null;
  let fence = false;
  for (const raw of markdown.split('\n')) {
    const line = raw.trim();
    const heading = /^#{2,3} (.*)$/.exec(line);
    if (!fence && heading) section = /^[A-Z_]+$/.test(heading[1] ?? '') ? (heading[1] as string) : null;
    if (line.startsWith('```')) {
      fence = !fence;
      continue;
    }
    if (fence && /^(npm|npx) /.test(line)) out.push({ line: line.replace(/\s+#.*$/, ''), section });
  }
  return out;
}

function troubleshootingCodes(): string[] {
  const part = GUIDE.slice(GUIDE.indexOf('## 9. Troubleshoot by reason code'));
  return [...part.matchAll(/^### ([A-Z_]+)$/gm)].map((m) => m[1] as string);
}

describe('docs/operator-guide.md', () => {
  it.each([
    'Install', 'Write a first mandate', 'Run in dry run', 'Read the decision log', 'Read the dashboard',
    'Switch to enforce', 'Rotate task-token keys', 'Scale out with Redis', 'Troubleshoot by reason code',
  ])('has a section "%s"', (title) => {
    expect(GUIDE).toMatch(new RegExp(`^## \\d+\\. ${title}$`, 'm'));
  });

  it('troubleshoots every reason code, once, in the order of SPEC section 5', () => {
    expect(troubleshootingCodes()).toEqual([...REASON_CODES]);
  });

  it.each([...REASON_CODES])('the %s paragraph says what it means and what to check', (code) => {
    const start = GUIDE.indexOf(`### ${code}\n`);
    const end = GUIDE.indexOf('\n### ', start + 1);
    const body = GUIDE.slice(start, end === -1 ? undefined : end).replace(/```[\s\S]*?```/g, '');
    expect(body.length).toBeGreaterThan(250);
    expect(body).toMatch(/[Cc]heck|[Cc]ompare|[Ll]ook at|[Ff]ind/);
  });

  it("uses only the README's commands for npm and mandate", () => {
    const commands = shellCommands(GUIDE);
    expect(commands.length).toBeGreaterThan(5);
    const readme = shellCommands(README).map((c) => c.line);
    for (const { line } of commands) {
      if (line.startsWith('npm ')) {
        expect(readme, line).toContain(line);
      } else if (line.startsWith('npx mandate validate ')) {
        expect(readme, line).toContain(line);
      } else {
        expect(line).toMatch(CHECK);
        expect(readme.some((r) => CHECK.test(r)), 'README shows the same check form').toBe(true);
      }
    }
  });

  const checks = shellCommands(GUIDE).filter((c) => CHECK.test(c.line));
  it.each(checks.map((c) => [c.line.replace(/^.* /, ''), c] as const))('its `mandate check` of %s answers as the guide says', async (_file, { line, section }) => {
    const args = line.split(' ').slice(3); // after `npx mandate check`
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCheckCommand(args, {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      env: {},
      cwd: ROOT,
      readStdin: async () => '',
    });
    const file = path.basename(line.replace(CHECK, '$1'));
    const result = JSON.parse(out.join('')) as { decision: string; reason: string; would_deny: string | null };
    if (file.startsWith('deny-')) {
      expect(status, err.join('')).toBe(1);
      expect(result.decision).toBe('deny');
    } else {
      expect(status, err.join('')).toBe(0);
      expect(result.decision).toBe('allow');
    }
    if (file.startsWith('dry-run-')) expect(result.would_deny).not.toBeNull();
    if (section !== null) expect(section).toBe(result.would_deny ?? result.reason);
  });

  it('its first mandate is a valid policy document', async () => {
    const blocks = [...GUIDE.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string).filter((b) => /^kind: Mandate$/m.test(b));
    expect(blocks.length).toBe(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-guide-'));
    try {
      fs.writeFileSync(path.join(dir, 'first.yaml'), blocks[0] as string);
      const out: string[] = [];
      const status = await runValidateCommand([dir], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {}, cwd: dir, readStdin: async () => '' });
      expect(status, out.join('')).toBe(0);
      expect(out.join('')).toMatch(/^1 mandate\b/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names only files that exist', () => {
    const paths = [...GUIDE.matchAll(/`((?:envoy|deploy\/k8s|deploy\/istio|deploy\/monitoring|examples)\/[\w./-]*)`/g)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(10);
    for (const p of paths) expect(fs.existsSync(path.join(ROOT, p)), p).toBe(true);
  });

  it('names only environment variables mandate reads', () => {
    const known = new Set(SERVE_OPTIONS.map((o) => o.env));
    const codes = new Set<string>(REASON_CODES);
    const named = [...new Set([...GUIDE.matchAll(/\bMANDATE_[A-Z_]+\b/g)].map((m) => m[0]))].filter((n) => !codes.has(n));
    expect(named.length).toBeGreaterThan(4);
    expect(named.filter((n) => !known.has(n))).toEqual([]);
  });

  it('agrees with the manifests on ports, probes and headers', () => {
    for (const fact of ['9191', '9464', '/readyz', '/healthz', 'x-business-function', 'txn-token', 'x-mandate-reason', 'x-mandate-decision-id']) {
      expect(GUIDE).toContain(fact);
    }
  });
});
