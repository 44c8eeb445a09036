// The naming of pre-deployment snapshots, shared by the hook's handler and `prod-baseline rollback`.
// No aws-cdk-lib imports: bundled into the handler.

/**
 * The snapshot the pre-deployment hook takes before a deployment: `<prefix>-<id of the target service
 * revision>`, lower-cased, characters other than letters, digits and hyphens as hyphens, runs of
 * hyphens as one, at most 255 characters.
 */
export function snapshotIdentifier(prefix: string, targetServiceRevisionArn: string): string {
  const revision = targetServiceRevisionArn.split('/').pop() ?? '';
  return `${prefix}-${revision}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 255);
}
