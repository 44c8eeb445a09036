import { acknowledgeNag } from '../constructs/core/nag';
import type { BaselineStack } from './baseline-stack';

/**
 * Acknowledges the cdk-nag findings that follow from config choices (the dev profile's defaults).
 * Findings that follow from the constructs' own design are acknowledged inside the constructs.
 */
export function acknowledgeConfigFindings(stack: BaselineStack): void {
  const { config } = stack;
  acknowledgeNag(stack.app.taskDefinition, {
    id: 'AwsSolutions-ECS2',
    reason:
      'The only plain environment variable is DB_SECRET_ARN, the name of the secret (not its value); credentials arrive as ECS secrets.',
  });
  if (!config.multiAz) {
    acknowledgeNag(stack.database.instance, {
      id: 'AwsSolutions-RDS3',
      reason: `multiAz is false (${config.profile} profile): a single-AZ database is a deliberate cost choice here; the production profile runs a standby.`,
    });
  }
  if (!config.deletionProtection) {
    acknowledgeNag(stack.database.instance, {
      id: 'AwsSolutions-RDS10',
      reason: `deletionProtection is false (${config.profile} profile) so the stack can be torn down; removal still takes a final snapshot.`,
    });
  }
}
