/**
 * Opens the HTML report in headless Chromium (Debian's package; CI installs it) and checks
 * that the graph and the findings render and that a click highlights a finding's path.
 * Fails, never skips, when Chromium is missing.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runAnalyzeCommand } from '../../src/cli/analyze.js';
import { runCli } from './run-cli.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../artifacts');

describe('HTML report in headless Chromium', () => {
  it('renders the graph and the findings, highlights a path on click, and is self-contained', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required (apt-get install chromium)`).toBe(true);
    const json = await runCli(runAnalyzeCommand, ['policies', '--logs', 'logs/decisions.jsonl', '--format', 'json', '--now', '2026-12-04T12:00:00Z']);
    const report = JSON.parse(json.stdout) as { findings: { code: string; path: string[] | null }[] };
    const html = await runCli(runAnalyzeCommand, ['policies', '--logs', 'logs/decisions.jsonl', '--format', 'html', '--now', '2026-12-04T12:00:00Z']);
    expect(html.code).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'mandate-html-'));
    const file = path.join(dir, 'report.html');
    writeFileSync(file, html.stdout);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const external: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);

      // 4 subjects + payments-db, credential-broker, warehouse, ledger.
      expect(await page.locator('#graph .node').count()).toBe(8);
      expect(await page.locator('#graph .node.subject').count()).toBe(4);
      expect(await page.locator('#graph .edge').count()).toBe(5);
      expect(await page.locator('#findings tbody tr').count()).toBe(report.findings.length);
      expect(await page.locator('#findings tbody tr[data-code="TOKEN_CHAINING_ATTEMPT"]').count()).toBe(1);

      const idx = report.findings.findIndex((f) => f.code === 'LATERAL_PATH');
      await page.locator(`#findings tbody tr[data-finding="${idx}"]`).click();
      const lit = await page.locator('#graph .node.hl').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
      expect(lit.sort()).toEqual([...report.findings[idx]!.path!].sort());
      expect(await page.locator('#graph .edge.hl').count()).toBe(2);
      expect(await page.locator('#graph .node.dim').count()).toBe(8 - 3);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'analysis-report.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(external).toEqual([]);
    } finally {
      await browser.close();
    }
    // Chromium's start-up is slow on a loaded 2-core machine; the default 30 s is tight there.
  }, 120_000);
});
