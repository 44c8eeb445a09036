// ECS blue/green lifecycle hook (PRE_SCALE_UP): take an RDS snapshot before every forward deployment,
// so a rollback across a schema migration has a restore point. ECS runs no PRE_SCALE_UP hook during its
// own rollbacks; a redeploy of an older task definition (`prod-baseline rollback`) is recognised and
// skipped too, because rollbacks must be fast. Old snapshots of the prefix are deleted after the retention.

import { DescribeServiceRevisionsCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { AWS_CLIENT_CONFIG } from '../core/aws-clients';
import { snapshotIdentifier } from './snapshot-name';

const rds = new RDSClient(AWS_CLIENT_CONFIG);
const ecs = new ECSClient(AWS_CLIENT_CONFIG);

export interface HookEvent {
  serviceArn: string;
  targetServiceRevisionArn: string;
  productionTrafficWeights?: Record<string, number>;
  hookDetails?: { snapshotIdentifier?: string };
}

export interface HookResult {
  hookStatus: 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';
  callBackDelay?: number;
  hookDetails?: { snapshotIdentifier?: string };
}

function log(message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level: 'info', message, ...fields, time: new Date().toISOString() })}\n`);
}

export { snapshotIdentifier } from './snapshot-name';

function taskDefinitionRevision(arn: string | undefined): number | undefined {
  const match = /:(\d+)$/.exec(arn ?? '');
  return match ? Number(match[1]) : undefined;
}

/** True when the target revision runs an older task definition than the live one: a rollback. */
async function isRollback(event: HookEvent): Promise<boolean> {
  const live = Object.entries(event.productionTrafficWeights ?? {})
    .filter(([, weight]) => weight > 0)
    .map(([arn]) => arn)
    .find((arn) => arn !== event.targetServiceRevisionArn);
  if (!live) return false;
  const out = await ecs.send(
    new DescribeServiceRevisionsCommand({ serviceRevisionArns: [live, event.targetServiceRevisionArn] }),
  );
  const byArn = new Map((out.serviceRevisions ?? []).map((r) => [r.serviceRevisionArn, r.taskDefinition]));
  const liveRevision = taskDefinitionRevision(byArn.get(live));
  const targetRevision = taskDefinitionRevision(byArn.get(event.targetServiceRevisionArn));
  return liveRevision !== undefined && targetRevision !== undefined && targetRevision < liveRevision;
}

async function deleteExpired(instance: string, prefix: string, retentionDays: number, keep: string): Promise<void> {
  const out = await rds.send(
    new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instance, SnapshotType: 'manual' }),
  );
  const cutoff = Date.now() - retentionDays * 24 * 3600 * 1000;
  for (const snapshot of out.DBSnapshots ?? []) {
    const id = snapshot.DBSnapshotIdentifier ?? '';
    if (!id.startsWith(`${prefix}-`) || id === keep || snapshot.Status !== 'available') continue;
    if ((snapshot.SnapshotCreateTime?.getTime() ?? Date.now()) < cutoff) {
      await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
      log('expired pre-deployment snapshot deleted', { snapshot: id });
    }
  }
}

export async function handler(event: HookEvent): Promise<HookResult> {
  const instance = process.env.DB_INSTANCE_IDENTIFIER as string;
  const prefix = process.env.SNAPSHOT_PREFIX as string;
  const retentionDays = Number(process.env.RETENTION_DAYS ?? '14');
  const id = event.hookDetails?.snapshotIdentifier ?? snapshotIdentifier(prefix, event.targetServiceRevisionArn);

  if (!event.hookDetails?.snapshotIdentifier) {
    if (await isRollback(event)) {
      log('rollback deployment: no snapshot', { target: event.targetServiceRevisionArn });
      return { hookStatus: 'SUCCEEDED' };
    }
    try {
      await rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: instance,
          DBSnapshotIdentifier: id,
          Tags: [
            { Key: 'prod-baseline:pre-deployment', Value: event.targetServiceRevisionArn.slice(0, 256) },
            { Key: 'prod-baseline:service', Value: event.serviceArn.slice(0, 256) },
          ],
        }),
      );
      log('pre-deployment snapshot started', { snapshot: id, instance });
    } catch (error) {
      // Invoked again for the same deployment: the snapshot already exists.
      if (!(error instanceof Error && error.name === 'DBSnapshotAlreadyExistsFault')) throw error;
    }
    return { hookStatus: 'IN_PROGRESS', callBackDelay: 30, hookDetails: { snapshotIdentifier: id } };
  }

  const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
  const status = out.DBSnapshots?.[0]?.Status;
  if (status === 'available') {
    log('pre-deployment snapshot available', { snapshot: id });
    await deleteExpired(instance, prefix, retentionDays, id);
    return { hookStatus: 'SUCCEEDED' };
  }
  if (status === 'failed' || status === undefined) {
    log('pre-deployment snapshot failed: the deployment rolls back', { snapshot: id, status });
    return { hookStatus: 'FAILED' };
  }
  return { hookStatus: 'IN_PROGRESS', callBackDelay: 30, hookDetails: { snapshotIdentifier: id } };
}
