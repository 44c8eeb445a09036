import type { IConstruct } from 'constructs';

/**
 * The error every prod-baseline construct throws for bad props: what is wrong, the value received
 * and what is allowed, prefixed with the path of the construct that rejected it.
 */
export class ProdBaselineError extends Error {
  /** Path of the construct that rejected its props. */
  public readonly constructPath: string;

  constructor(scope: IConstruct, message: string) {
    super(`${scope.node.path}: ${message}`);
    this.name = 'ProdBaselineError';
    this.constructPath = scope.node.path;
  }
}
