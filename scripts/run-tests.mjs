// `npm test`: runs jest (arguments pass through) and ends with one plain line, "N passed, N failed",
// computed from jest's JSON report, because CI reads that line and not jest's own summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'pb-jest-'));
const report = join(dir, 'report.json');
const jest = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', `--outputFile=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

let summary;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails to load has no failed tests of its own: count it as one failure.
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  summary = `${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
} catch {
  summary = '0 passed, 1 failed';
  process.stderr.write('run-tests: jest wrote no report\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`\n${summary}\n`);
process.exit(jest.status ?? 1);
