import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchPolicyPaths, type PolicyWatcher } from '../../src/server/watch.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;
let watchers: PolicyWatcher[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mandate-watch-'));
});
afterEach(() => {
  for (const w of watchers) w.close();
  watchers = [];
  rmSync(dir, { recursive: true, force: true });
});

// Bounded polling (test/helpers/wait.ts) for states that raise no event.
const until = async (cond: () => boolean, what: string, ms = 4000): Promise<void> => {
  await waitFor(cond, what, ms, 10);
};

interface Probe {
  calls: number;
  checks: number;
  errors: unknown[];
  /** Resolves after n more fingerprint checks (each poll is one). */
  afterChecks(n: number): Promise<void>;
}

async function start(paths: string[], onChange?: () => void): Promise<Probe> {
  const probe: Probe = {
    calls: 0,
    checks: 0,
    errors: [],
    afterChecks: (n) => {
      const target = probe.checks + n;
      return until(() => probe.checks >= target, `${n} checks`);
    },
  };
  const w = watchPolicyPaths(
    paths,
    () => {
      probe.calls++;
      onChange?.();
    },
    { pollMs: 100, debounceMs: 100, onError: (e) => probe.errors.push(e), onCheck: () => probe.checks++ },
  );
  watchers.push(w);
  await w.ready;
  return probe;
}

const policy = (name: string): string => `apiVersion: mandate/v1\nkind: Mandate\nmetadata:\n  name: ${name}\n`;

/** A Kubernetes ConfigMap volume: ..<ts>/ holds the files, ..data points at it, visible names point into ..data. */
function configMap(mount: string, files: Record<string, string>, ts: string): void {
  mkdirSync(join(mount, `..${ts}`), { recursive: true });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(mount, `..${ts}`, name), body);
  symlinkSync(`..${ts}`, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(mount, name));
    } catch {
      // exists from the previous version: unchanged, as kubelet leaves it
    }
  }
}

interface Row {
  readonly name: string;
  /** Creates the initial state; returns the paths to watch. */
  readonly setup: (d: string) => string[];
  readonly change: (d: string) => void;
}

const rows: Row[] = [
  {
    name: 'in-place edit of a file in a watched directory',
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [d]),
    change: (d) => appendFileSync(join(d, 'a.yaml'), '  labels: {x: y}\n'),
  },
  {
    name: 'in-place edit of a file given directly',
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [join(d, 'a.yaml')]),
    change: (d) => appendFileSync(join(d, 'a.yaml'), '  labels: {x: y}\n'),
  },
  {
    name: "an editor's rename-and-replace of a file given directly",
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [join(d, 'a.yaml')]),
    change: (d) => {
      writeFileSync(join(d, 'a.yaml.tmp'), policy('a2'));
      renameSync(join(d, 'a.yaml.tmp'), join(d, 'a.yaml'));
    },
  },
  {
    name: 'a new file in a watched directory',
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [d]),
    change: (d) => writeFileSync(join(d, 'b.json'), '{}'),
  },
  {
    name: 'a new file in a new subdirectory',
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [d]),
    change: (d) => {
      mkdirSync(join(d, 'team'));
      writeFileSync(join(d, 'team', 'c.yml'), policy('c'));
    },
  },
  {
    name: 'a ConfigMap ..data symlink swap (directory watched)',
    setup: (d) => (configMap(d, { 'policy.yaml': policy('v1') }, '2026_12_04_20_00_00.1'), [d]),
    change: (d) => {
      configMap(d, { 'policy.yaml': policy('v2') }, '2026_12_04_20_05_00.2');
      rmSync(join(d, '..2026_12_04_20_00_00.1'), { recursive: true });
    },
  },
  {
    name: 'a ConfigMap ..data symlink swap (file watched)',
    setup: (d) => (configMap(d, { 'policy.yaml': policy('v1') }, '2026_12_04_20_00_00.1'), [join(d, 'policy.yaml')]),
    change: (d) => {
      configMap(d, { 'policy.yaml': policy('v2') }, '2026_12_04_20_05_00.2');
      rmSync(join(d, '..2026_12_04_20_00_00.1'), { recursive: true });
    },
  },
  {
    name: 'a ConfigMap swap with the same content size',
    setup: (d) => (configMap(d, { 'policy.yaml': policy('v1') }, '1'), [d]),
    change: (d) => configMap(d, { 'policy.yaml': policy('v2') }, '2'),
  },
  {
    name: 'a retargeted symlink given directly',
    setup: (d) => {
      mkdirSync(join(d, 'v1'));
      mkdirSync(join(d, 'v2'));
      writeFileSync(join(d, 'v1', 'p.yaml'), policy('one'));
      writeFileSync(join(d, 'v2', 'p.yaml'), policy('two'));
      symlinkSync(join(d, 'v1', 'p.yaml'), join(d, 'current.yaml'));
      return [join(d, 'current.yaml')];
    },
    change: (d) => {
      symlinkSync(join(d, 'v2', 'p.yaml'), join(d, 'next.yaml'));
      renameSync(join(d, 'next.yaml'), join(d, 'current.yaml'));
    },
  },
  {
    name: 'an edit of the target of a symlink given directly',
    setup: (d) => {
      mkdirSync(join(d, 'real'));
      writeFileSync(join(d, 'real', 'p.yaml'), policy('one'));
      symlinkSync(join(d, 'real', 'p.yaml'), join(d, 'current.yaml'));
      return [join(d, 'current.yaml')];
    },
    change: (d) => appendFileSync(join(d, 'real', 'p.yaml'), '  labels: {x: y}\n'),
  },
  {
    name: 'a deleted file given directly',
    setup: (d) => (writeFileSync(join(d, 'a.yaml'), policy('a')), [join(d, 'a.yaml')]),
    change: (d) => unlinkSync(join(d, 'a.yaml')),
  },
  {
    name: 'a deleted directory',
    setup: (d) => {
      mkdirSync(join(d, 'policies'));
      writeFileSync(join(d, 'policies', 'a.yaml'), policy('a'));
      return [join(d, 'policies')];
    },
    change: (d) => rmSync(join(d, 'policies'), { recursive: true }),
  },
  {
    name: 'a path that appears after start',
    setup: (d) => [join(d, 'later.yaml')],
    change: (d) => writeFileSync(join(d, 'later.yaml'), policy('later')),
  },
];

describe('watchPolicyPaths', () => {
  it.each(rows)('notices $name', async (row) => {
    const paths = row.setup(dir);
    const probe = await start(paths);
    await probe.afterChecks(1);
    expect(probe.calls).toBe(0);
    row.change(dir);
    await until(() => probe.calls >= 1, 'the change callback');
    await probe.afterChecks(3);
    expect(probe.calls).toBe(1); // one change, one callback
  });

  it.each(rows.filter((r) => !r.name.includes('appears after start')))(
    'notices $name from fs events alone (poll far away)',
    async (row) => {
      const paths = row.setup(dir);
      let calls = 0;
      const w = watchPolicyPaths(paths, () => calls++, { pollMs: 600_000, debounceMs: 50 });
      watchers.push(w);
      await w.ready;
      row.change(dir);
      await until(() => calls >= 1, 'the change callback from an fs event');
    },
  );

  it('turns a burst of writes into one callback, and notices the next change again', async () => {
    writeFileSync(join(dir, 'a.yaml'), policy('a'));
    const probe = await start([dir]);
    for (let i = 0; i < 30; i++) appendFileSync(join(dir, 'a.yaml'), `# ${i}\n`);
    await until(() => probe.calls >= 1, 'the first callback');
    await probe.afterChecks(3);
    expect(probe.calls).toBe(1);
    writeFileSync(join(dir, 'b.yaml'), policy('b'));
    await until(() => probe.calls >= 2, 'the second callback');
  });

  it('follows a directory removed and created again', async () => {
    const p = join(dir, 'policies');
    mkdirSync(p);
    writeFileSync(join(p, 'a.yaml'), policy('a'));
    const probe = await start([p]);
    rmSync(p, { recursive: true });
    await until(() => probe.calls >= 1, 'the removal');
    await probe.afterChecks(2);
    mkdirSync(p);
    writeFileSync(join(p, 'a.yaml'), policy('a'));
    await until(() => probe.calls >= 2, 'the re-creation');
    appendFileSync(join(p, 'a.yaml'), '# edit\n');
    await until(() => probe.calls >= 3, 'an edit in the new directory');
  });

  it.each([
    ['an editor swap file', '.a.yaml.swp'],
    ['a file the loader does not read', 'README.md'],
    ['a backup file', 'a.yaml~'],
  ])('ignores %s', async (_name, file) => {
    writeFileSync(join(dir, 'a.yaml'), policy('a'));
    const probe = await start([dir]);
    writeFileSync(join(dir, file), 'x');
    await probe.afterChecks(4);
    expect(probe.calls).toBe(0);
  });

  it('survives an onChange that throws and keeps watching', async () => {
    writeFileSync(join(dir, 'a.yaml'), policy('a'));
    const probe = await start([dir], () => {
      throw new Error('reload exploded');
    });
    appendFileSync(join(dir, 'a.yaml'), '# 1\n');
    await until(() => probe.errors.length === 1, 'the reported error');
    appendFileSync(join(dir, 'a.yaml'), '# 2\n');
    await until(() => probe.calls === 2, 'the second callback');
  });

  it('stops calling after close()', async () => {
    writeFileSync(join(dir, 'a.yaml'), policy('a'));
    const probe = await start([dir]);
    const w = watchers.pop() as PolicyWatcher;
    w.close();
    const checks = probe.checks;
    appendFileSync(join(dir, 'a.yaml'), '# after close\n');
    await new Promise((r) => setTimeout(r, 400)); // 4 poll periods: proving an absence needs a wait
    expect(probe.calls).toBe(0);
    expect(probe.checks).toBe(checks);
  });
});
