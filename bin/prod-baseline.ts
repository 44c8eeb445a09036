#!/usr/bin/env node
import { buildBaselineApp } from '../lib/app';
import { ConfigError } from '../lib/config';

try {
  buildBaselineApp();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
