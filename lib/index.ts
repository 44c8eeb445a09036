export * from './app';
export * from './baseline-stack';
export * from './config';
