import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppProps, CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type BaselineAppResult, buildBaselineApp } from '../lib/app';

export const ROOT = join(__dirname, '..');

/** The context of cdk.json: test Apps use the same feature flags and default config as `cdk synth`. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** A test App with cdk.json's context and cdk-nag (AwsSolutions) enabled, like the real app. */
export function testApp(props: AppProps = {}): App {
  const app = new App({ ...props, context: { ...cdkJsonContext(), ...props.context } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Turns settings into `-c prodBaseline.<name>=<value>` context keys, as the CLI would pass them. */
export function settingsContext(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [`prodBaseline.${k}`, v]));
}

export interface BaselineSynth extends BaselineAppResult {
  readonly template: Template;
  readonly json: Record<string, any>;
}

const cache = new Map<string, BaselineSynth>();

/** Synthesizes the baseline app with cdk.json's context plus the given settings (cached per settings). */
export function synthBaseline(settings: Record<string, unknown> = {}): BaselineSynth {
  const key = JSON.stringify(settings);
  const hit = cache.get(key);
  if (hit) return hit;
  const result = buildBaselineApp({ context: { ...cdkJsonContext(), ...settingsContext(settings) } });
  const template = Template.fromStack(result.stack);
  const synth = { ...result, template, json: template.toJSON() };
  cache.set(key, synth);
  return synth;
}

/** The production example used by snapshots and readiness tests. */
export const PRODUCTION_SETTINGS = { profile: 'production', alertEmails: 'oncall@example.com' } as const;

/**
 * Template JSON text with asset hashes and the kit version masked, so snapshots change only when
 * the resources do. Object keys are text too, which a snapshot serializer alone cannot rewrite.
 */
export function normalizedTemplate(json: unknown): unknown {
  const text = JSON.stringify(json, null, 1)
    .replace(/[0-9a-f]{64}/g, '[ASSET-HASH]')
    .replace(/(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g, '$1[HASH]')
    .replace(/"version": "\d+\.\d+\.\d+[^"]*"/g, '"version": "[KIT-VERSION]"');
  return JSON.parse(text);
}

/** Logical ID of a construct's CloudFormation resource (the construct itself, or its default child). */
export function logicalId(stack: Stack, construct: IConstruct): string {
  const target = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(target instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return stack.resolve(target.logicalId);
}

/** The README's "use the constructs in your own stack" example: the code block after its marker. */
export function readmeConsumerExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- example:consumer -->\s*```ts\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no <!-- example:consumer --> code block');
  return match[1];
}

/** Fails with one line saying how to install a tool the suite needs. */
export function requireTool(command: string, install: string): void {
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${command} is not installed; the test suite needs it. Install it with: ${install}`);
  }
}

/** Runs cfn-lint on a template (with the repo's .cfnlintrc.yaml) and returns its findings. */
export function cfnLint(template: unknown): { code: number; output: string } {
  requireTool('cfn-lint', 'pip install cfn-lint');
  const dir = mkdtempSync(join(tmpdir(), 'pb-cfnlint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template));
    const run = spawnSync('cfn-lint', ['--config-file', join(ROOT, '.cfnlintrc.yaml'), '--', file], {
      encoding: 'utf8',
    });
    return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export { execFileSync };
