import { Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { ProdBaselineError } from './errors';

/** An e-mail address as SNS accepts it: something@domain.tld, no spaces. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** A URL path that starts with "/" and has no spaces (ALB health-check paths, at most 1024 characters). */
export const URL_PATH_PATTERN = /^\/\S{0,1023}$/;

/** Fargate's valid task memory sizes (MiB) for each CPU size (units). */
export const FARGATE_MEMORY_MIB: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

/**
 * The problem with a whole-number prop, or undefined when it is fine or an unresolved Token.
 * @example wholeNumberProblem('desiredCount', 0, 1, 100) // 'desiredCount must be a whole number from 1 to 100, got 0'
 */
export function wholeNumberProblem(name: string, value: number, min: number, max?: number): string | undefined {
  if (Token.isUnresolved(value)) return undefined;
  const inRange = value >= min && (max === undefined || value <= max);
  if (Number.isInteger(value) && inRange) return undefined;
  const allowed = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  return `${name} must be a whole number ${allowed}, got ${value}`;
}

/**
 * The problem with a storage-autoscaling ceiling, or undefined. RDS requires the ceiling to be at
 * least 10 % above the allocated storage; a ceiling equal to it means "no autoscaling".
 */
export function storageCeilingProblem(allocatedGiB: number, maxAllocatedGiB: number): string | undefined {
  const least = Math.ceil(allocatedGiB * 1.1);
  if (maxAllocatedGiB === allocatedGiB || maxAllocatedGiB >= least) return undefined;
  return `must equal the allocated storage (${allocatedGiB}, no autoscaling) or be at least 10 % above it (${least} or more), got ${maxAllocatedGiB}`;
}

/** Throws one {@link ProdBaselineError} listing every problem found, or returns when there is none. */
export function throwIfProblems(scope: IConstruct, problems: readonly (string | undefined | false)[]): void {
  const found = problems.filter((p): p is string => typeof p === 'string');
  if (found.length > 0) throw new ProdBaselineError(scope, found.join('; '));
}

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}
