import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BaselineStack } from './baseline-stack';
import { type BaselineConfig, configSourcesFromContext, resolveConfig } from './config';

export interface BaselineAppResult {
  readonly app: App;
  readonly stack: BaselineStack;
  readonly config: BaselineConfig;
}

/**
 * Builds the baseline app: reads and validates the config from context (throwing a `ConfigError`
 * that lists every problem before any construct is built), creates the stack and enables cdk-nag.
 */
export function buildBaselineApp(props: AppProps = {}): BaselineAppResult {
  const app = new App(props);
  // cdk.json context and every -c value reach the App through the CLI; all are on its node.
  const contextKeys = Object.keys(app.node.getAllContext());
  const config = resolveConfig(configSourcesFromContext(contextKeys, (k) => app.node.tryGetContext(k)));
  // The construct ID is the stack name: physical names CDK derives from construct paths (such as the
  // rotation function's) then differ between two baselines in one account and region.
  const stack = new BaselineStack(app, config.stackName, { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config };
}
