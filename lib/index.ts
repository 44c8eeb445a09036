export * from './app';
export * from './baseline-stack';
export * from './compliance';
export * from './config';
